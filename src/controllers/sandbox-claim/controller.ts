import type { Registry } from "prom-client";
import { SandboxClaimGVK } from "../../api/index.js";
import {
  defineController,
  enqueueControllerOwner,
  enqueueMapped,
  enqueueOwn,
  generationChanged,
  keyOf,
  specOrMetadataChanged,
  type Controller,
} from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { Index } from "../shared/caches.js";
import { FirstObserved } from "./first-observed.js";
import { makeClaimReconciler } from "./reconciler.js";
import { sandboxChangeMattersToClaim } from "./sandbox-changes.js";

/** SandboxClaim -> one Sandbox, adopted warm from its pool or created cold. */
export function createClaimController(deps: ControllerDeps, opts: { workers: number; registry: Registry }): Controller {
  const firstObserved = new FirstObserved();
  const controller = defineController({
    name: "sandboxclaim",
    workers: opts.workers,
    reconcile: makeClaimReconciler(deps, firstObserved),
    logger: deps.logger,
    registry: opts.registry,
  });
  const { caches } = deps;
  // The claim's own status writes come back as updates that need no pass.
  enqueueOwn(caches.claims, controller, specOrMetadataChanged);
  // Not work, only a timestamp: the time a claim was first seen must be taken at its event
  // (upstream records it in its event predicate) for the queue wait to count.
  caches.claims.addHandler({
    add: (c) => firstObserved.observe(c),
    update: (c) => firstObserved.observe(c),
    delete: (c) => firstObserved.forget(c),
  });
  enqueueControllerOwner(caches.sandboxes, controller, SandboxClaimGVK, sandboxChangeMattersToClaim);
  // A pool (or its template) appearing or changing its spec unblocks claims that were refused for
  // it. Their status writes do not: a claim never waits on a pool's counts (with no Ready member
  // it starts cold in the same pass).
  const claimsOfPool = (ns: string | undefined, pool: string | undefined): string[] =>
    caches.claims
      .byIndex(Index.ByPoolRef, `${ns ?? ""}/${pool ?? ""}`)
      .filter((c) => !c.status?.sandbox?.name)
      .map(keyOf);
  enqueueMapped(caches.pools, controller, (p) => claimsOfPool(p.metadata.namespace, p.metadata.name), generationChanged);
  enqueueMapped(caches.templates, controller, (t) =>
    caches.pools
      .byIndex(Index.ByTemplateRef, `${t.metadata.namespace ?? ""}/${t.metadata.name ?? ""}`)
      .flatMap((p) => claimsOfPool(p.metadata.namespace, p.metadata.name)),
  );
  return controller;
}
