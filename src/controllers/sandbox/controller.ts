import { SandboxGVK } from "../../api/index.js";
import { defineController, enqueueControllerOwner, enqueueOwn, specOrMetadataChanged, type Controller } from "../../runtime/index.js";
import type { Registry } from "prom-client";
import type { ControllerDeps } from "../deps.js";
import { makeSandboxReconciler } from "./reconciler.js";

/** Sandbox -> Pod, Service, NetworkPolicy and PVCs. */
export function createSandboxController(deps: ControllerDeps, opts: { workers: number; registry: Registry }): Controller {
  const controller = defineController({
    name: "sandbox",
    workers: opts.workers,
    reconcile: makeSandboxReconciler(deps),
    logger: deps.logger,
    registry: opts.registry,
  });
  const { caches } = deps;
  // The Sandbox's own status writes come back as updates that need no pass; its children's
  // changes (the pod's status above all) do.
  enqueueOwn(caches.sandboxes, controller, specOrMetadataChanged);
  enqueueControllerOwner(caches.pods, controller, SandboxGVK);
  enqueueControllerOwner(caches.services, controller, SandboxGVK);
  enqueueControllerOwner(caches.networkPolicies, controller, SandboxGVK);
  enqueueControllerOwner(caches.pvcs, controller, SandboxGVK);
  return controller;
}
