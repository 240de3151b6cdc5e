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
  // Claims built with the API's zod types carry string timestamps where client-node's types say Date.
  const claims = world.deps.caches.claims as unknown as { seed(objects: readonly Claim[]): void };
  return { claims, controller };
}

/** The same claim at a later resourceVersion, edited. */
function next(claim: Claim, rv: string, edit: (c: Claim) => Claim): Claim {
  return edit({ ...claim, metadata: { ...claim.metadata, resourceVersion: rv } });
}

describe("warm pool controller: claim events", () => {
  const waiting = { ...makeClaim(), metadata: { ...makeClaim().metadata, resourceVersion: "1" } };

  it("a new claim wakes its pool", () => {
    const { claims, controller } = setup();
    claims.seed([waiting]);
    expect(controller.queue.len()).toBe(1);
  });

  it("a status write that leaves the claim waiting does not", async () => {
    const { claims, controller } = setup();
    claims.seed([waiting]);
    const key = await controller.queue.get();
    controller.queue.done(key ?? "");
    const annotated = next(waiting, "2", (c) => ({ ...c, metadata: { ...c.metadata, annotations: { note: "x" } } }));
    claims.seed([annotated]);
    expect(controller.queue.len()).toBe(0);
  });

  it("the claim getting its sandbox wakes the pool (a held refill may resume)", async () => {
    const { claims, controller } = setup();
    claims.seed([waiting]);
    const key = await controller.queue.get();
    controller.queue.done(key ?? "");
    const bound = next(waiting, "2", (c) => ({ ...c, status: { sandbox: { name: "member-1" } } }));
    claims.seed([bound]);
    expect(controller.queue.len()).toBe(1);
    expect(await controller.queue.get()).toBe("ns/pool");
  });
});
