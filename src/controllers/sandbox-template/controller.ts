import type { Registry } from "prom-client";
import { SandboxTemplateGVK } from "../../api/index.js";
import { defineController, enqueueControllerOwner, enqueueOwn, type Controller } from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { makeTemplateReconciler } from "./reconciler.js";

/** SandboxTemplate -> its shared NetworkPolicy. */
export function createTemplateController(deps: ControllerDeps, opts: { registry: Registry }): Controller {
  const controller = defineController({
    name: "sandboxtemplate",
    workers: 1,
    reconcile: makeTemplateReconciler(deps),
    logger: deps.logger,
    registry: opts.registry,
  });
  enqueueOwn(deps.caches.templates, controller);
  enqueueControllerOwner(deps.caches.networkPolicies, controller, SandboxTemplateGVK);
  return controller;
}
