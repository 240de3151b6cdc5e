// Which events wake the claim controller: changes it reads (its own spec and metadata, its
// Sandbox's readiness, addresses, owner and labels, a pool's spec), not the status writes of
// its own or of other controllers.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createClaimController } from "../../../../src/controllers/sandbox-claim/controller.js";
import type { Controller } from "../../../../src/runtime/index.js";
import { makeClaim, makePool, makeSandbox, testConfig } from "../fixtures.js";
import { reconcilerWorld } from "../reconciler-harness.js";

type Seedable = { seed(objects: readonly object[]): void };

const claimOwner = {
  apiVersion: "extensions.agents.x-k8s.io/v1beta1",
  kind: "SandboxClaim",
  name: "claim",
  uid: "uid-claim",
  controller: true,
  blockOwnerDeletion: true,
};

const readyAt = (time: string, reason = "DependenciesReady") => ({
  type: "Ready",
  status: "True",
  reason,
  message: "",
  lastTransitionTime: time,
  observedGeneration: 1,
});

function boundSandbox(rv: string, status: Record<string, unknown>) {
  const sb = makeSandbox({ name: "claim" });
  return { ...sb, metadata: { ...sb.metadata, resourceVersion: rv, ownerReferences: [claimOwner] }, status };
}

function setup() {
  const world = reconcilerWorld({ config: testConfig });
  const controller = createClaimController(world.deps, { workers: 1, registry: new Registry() });
  const caches = world.deps.caches as unknown as Record<"claims" | "sandboxes" | "pools", Seedable>;
  return { caches, controller };
}

/** Takes every queued key, so the next assertion sees only what follows. */
async function drain(controller: Controller): Promise<void> {
  while (controller.queue.len() > 0) controller.queue.done((await controller.queue.get()) ?? "");
}

describe("claim controller: events", () => {
  const claim = { ...makeClaim(), metadata: { ...makeClaim().metadata, resourceVersion: "1", generation: 1 } };

  it("its own status write does not wake it; a new annotation does", async () => {
    const { caches, controller } = setup();
    caches.claims.seed([claim]);
    await drain(controller);
    caches.claims.seed([{ ...claim, metadata: { ...claim.metadata, resourceVersion: "2" }, status: { sandbox: { name: "claim" } } }]);
    expect(controller.queue.len()).toBe(0);
    caches.claims.seed([{ ...claim, metadata: { ...claim.metadata, resourceVersion: "3", annotations: { a: "b" } } }]);
    expect(controller.queue.len()).toBe(1);
  });

  it("its Sandbox's other status writes do not wake it; readiness and addresses do", async () => {
    const { caches, controller } = setup();
    caches.claims.seed([claim]);
    caches.sandboxes.seed([boundSandbox("10", { conditions: [readyAt("2026-01-01T00:00:00Z")] })]);
    await drain(controller);

    const suspendedCondition = { ...readyAt("2026-01-01T00:00:00Z"), type: "Suspended", status: "False", reason: "Running" };
    caches.sandboxes.seed([boundSandbox("11", { conditions: [readyAt("2026-01-01T00:00:00Z"), suspendedCondition] })]);
    expect(controller.queue.len()).toBe(0);

    caches.sandboxes.seed([
      boundSandbox("12", { conditions: [readyAt("2026-01-01T00:00:00Z"), suspendedCondition], podIPs: ["10.0.0.9"] }),
    ]);
    expect(controller.queue.len()).toBe(1);
    await drain(controller);

    caches.sandboxes.seed([
      boundSandbox("13", { conditions: [readyAt("2026-01-01T00:05:00Z", "SandboxExpired"), suspendedCondition], podIPs: ["10.0.0.9"] }),
    ]);
    expect(controller.queue.len()).toBe(1);
    expect(await controller.queue.get()).toBe("ns/claim");
  });

  it("a pool's status write does not wake a claim refused for it; a pool spec change does", async () => {
    const { caches, controller } = setup();
    const pool = makePool(2);
    caches.claims.seed([claim]);
    caches.pools.seed([pool]);
    await drain(controller);
    caches.pools.seed([{ ...pool, metadata: { ...pool.metadata, resourceVersion: "11" }, status: { replicas: 2, readyReplicas: 1 } }]);
    expect(controller.queue.len()).toBe(0);
    caches.pools.seed([
      { ...pool, metadata: { ...pool.metadata, resourceVersion: "12", generation: 2 }, spec: { ...pool.spec, replicas: 3 } },
    ]);
    expect(controller.queue.len()).toBe(1);
  });
});
