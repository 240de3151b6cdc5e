import type { Registry } from "prom-client";
import { SandboxWarmPoolGVK } from "../../api/index.js";
import {
  defineController,
  enqueueControllerOwner,
  enqueueMapped,
  enqueueOwn,
  keyOf,
  makeKey,
  specOrMetadataChanged,
  type Controller,
} from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { Index } from "../shared/caches.js";
import { Expectations } from "../shared/expectations.js";
import { isWaitingClaim } from "./claims-first.js";
import { makeWarmPoolReconciler } from "./reconciler.js";

/** SandboxWarmPool -> spec.replicas Ready Sandboxes from its template. */
export function createWarmPoolController(deps: ControllerDeps, opts: { workers: number; registry: Registry }): Controller {
  const controller = defineController({
    name: "sandboxwarmpool",
    workers: opts.workers,
    reconcile: makeWarmPoolReconciler(deps, new Expectations()),
    logger: deps.logger,
    registry: opts.registry,
  });
  const { caches } = deps;
  // The pool's own status writes come back as updates that need no pass.
  enqueueOwn(caches.pools, controller, specOrMetadataChanged);
  // Member changes (including adoption by a claim, which moves the controller reference away).
  enqueueControllerOwner(caches.sandboxes, controller, SandboxWarmPoolGVK);
  // Claims binding or bound: a refill held back for waiting claims resumes when none waits. The
  // pool reads only whether each claim waits, so the claims' other status writes pass it by.
  enqueueMapped(
    caches.claims,
    controller,
    (c) => [makeKey(c.metadata?.namespace, c.spec.warmPoolRef.name)],
    (c, old) => isWaitingClaim(c) !== isWaitingClaim(old) || c.spec.warmPoolRef.name !== old.spec.warmPoolRef.name,
  );
  // Templates have no status, so every update of one is a change its pools may need to act on.
  enqueueMapped(caches.templates, controller, (t) =>
    caches.pools.byIndex(Index.ByTemplateRef, `${t.metadata.namespace ?? ""}/${t.metadata.name ?? ""}`).map(keyOf),
  );
  return controller;
}
