// Which claim events wake the warm pool controller: only those that change whether a claim
// waits (or which pool it names), not the claims' other status writes.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createWarmPoolController } from "../../../../src/controllers/sandbox-warm-pool/controller.js";
import { makeClaim, testConfig } from "../fixtures.js";
import { reconcilerWorld } from "../reconciler-harness.js";

type Claim = ReturnType<typeof makeClaim>;

function setup() {
  const world = reconcilerWorld({ config: testConfig });
  const controller = createWarmPoolController(world.deps, { workers: 1, registry: new Registry() });
  return { world, controller };
}

/** The same claim at a later resourceVersion, edited. */
function next(claim: Claim, rv: string, edit: (c: Claim) => Claim): Claim {
  return edit({ ...claim, metadata: { ...claim.metadata, resourceVersion: rv } });
}

describe("warm pool controller: claim events", () => {
  const waiting = { ...makeClaim(), metadata: { ...makeClaim().metadata, resourceVersion: "1" } };

  it("a new claim wakes its pool", () => {
    const { world, controller } = setup();
    world.deps.caches.claims.seed([waiting]);
    expect(controller.queue.len()).toBe(1);
  });

  it("a status write that leaves the claim waiting does not", async () => {
    const { world, controller } = setup();
    world.deps.caches.claims.seed([waiting]);
    const key = await controller.queue.get();
    controller.queue.done(key ?? "");
    const annotated = next(waiting, "2", (c) => ({ ...c, metadata: { ...c.metadata, annotations: { note: "x" } } }));
    world.deps.caches.claims.seed([annotated]);
    expect(controller.queue.len()).toBe(0);
  });

  it("the claim getting its sandbox wakes the pool (a held refill may resume)", async () => {
    const { world, controller } = setup();
    world.deps.caches.claims.seed([waiting]);
    const key = await controller.queue.get();
    controller.queue.done(key ?? "");
    const bound = next(waiting, "2", (c) => ({ ...c, status: { sandbox: { name: "member-1" } } }));
    world.deps.caches.claims.seed([bound]);
    expect(controller.queue.len()).toBe(1);
    expect(await controller.queue.get()).toBe("ns/pool");
  });
});
