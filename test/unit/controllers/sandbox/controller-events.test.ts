// Which events wake the Sandbox controller: its Sandbox's spec and metadata and its children's
// changes (the pod's status above all), not the Sandbox status it writes itself.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createSandboxController } from "../../../../src/controllers/sandbox/controller.js";
import { createWarmPoolController } from "../../../../src/controllers/sandbox-warm-pool/controller.js";
import type { Controller } from "../../../../src/runtime/index.js";
import { makePool, makeSandbox, owner, testConfig } from "../fixtures.js";
import { reconcilerWorld } from "../reconciler-harness.js";

type Seedable = { seed(objects: readonly object[]): void };

async function drain(controller: Controller): Promise<void> {
  while (controller.queue.len() > 0) controller.queue.done((await controller.queue.get()) ?? "");
}

function pod(rv: string, phase: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "sb", namespace: "ns", uid: "uid-pod", resourceVersion: rv, ownerReferences: [owner] },
    spec: { containers: [{ name: "main", image: "busybox" }] },
    status: { phase },
  };
}

describe("sandbox controller: events", () => {
  const sandbox = { ...makeSandbox(), metadata: { ...makeSandbox().metadata, resourceVersion: "1", generation: 1 } };

  it("its own status write does not wake it; a spec change and its pod's status do", async () => {
    const world = reconcilerWorld({ config: testConfig });
    const controller = createSandboxController(world.deps, { workers: 1, registry: new Registry() });
    const caches = world.deps.caches as unknown as Record<"sandboxes" | "pods", Seedable>;
    caches.sandboxes.seed([sandbox]);
    caches.pods.seed([pod("5", "Pending")]);
    await drain(controller);

    caches.sandboxes.seed([{ ...sandbox, metadata: { ...sandbox.metadata, resourceVersion: "2" }, status: { podIPs: ["10.0.0.3"] } }]);
    expect(controller.queue.len()).toBe(0);

    caches.pods.seed([pod("6", "Running")]);
    expect(controller.queue.len()).toBe(1);
    await drain(controller);

    caches.sandboxes.seed([
      {
        ...sandbox,
        metadata: { ...sandbox.metadata, resourceVersion: "3", generation: 2 },
        spec: { ...sandbox.spec, operatingMode: "Suspended" },
      },
    ]);
    expect(controller.queue.len()).toBe(1);
    expect(await controller.queue.get()).toBe("ns/sb");
  });
});

describe("warm pool controller: its own status", () => {
  it("a status write does not wake the pool; a scale does", async () => {
    const world = reconcilerWorld({ config: testConfig });
    const controller = createWarmPoolController(world.deps, { workers: 1, registry: new Registry() });
    const pools = world.deps.caches.pools as unknown as Seedable;
    const pool = makePool(2);
    pools.seed([pool]);
    await drain(controller);
    pools.seed([{ ...pool, metadata: { ...pool.metadata, resourceVersion: "11" }, status: { replicas: 2, readyReplicas: 2 } }]);
    expect(controller.queue.len()).toBe(0);
    pools.seed([{ ...pool, metadata: { ...pool.metadata, resourceVersion: "12", generation: 2 }, spec: { ...pool.spec, replicas: 4 } }]);
    expect(controller.queue.len()).toBe(1);
  });
});
