// The SandboxWarmPool reconciler, branch by branch, against in-memory caches and API server.
import { describe, expect, it } from "vitest";
import { LabelKeys } from "../../../../src/api/index.js";
import { nameHash } from "../../../../src/controllers/shared/name-hash.js";
import { Expectations } from "../../../../src/controllers/shared/expectations.js";
import { makeWarmPoolReconciler } from "../../../../src/controllers/sandbox-warm-pool/reconciler.js";
import { AlreadyExistsError, type ReconcileResult } from "../../../../src/runtime/index.js";
import { makeClaim, makePool, makePoolMember, makeTemplate, poolOwner, testConfig } from "../fixtures.js";
import { reconcilerWorld, type ReconcilerWorld } from "../reconciler-harness.js";

const NS = "ns";
const NOW = new Date("2026-01-01T00:00:00Z");
const template = makeTemplate();

const pool = makePool;
const member = makePoolMember;

async function reconcile(world: ReconcilerWorld): Promise<ReconcileResult> {
  const key = `${NS}/${poolOwner.name}`;
  return makeWarmPoolReconciler(world.deps, new Expectations())(key, world.ctx(NS, poolOwner.name));
}

const verbs = (world: ReconcilerWorld): string[] => world.kube.writes.map((w) => `${w.verb} ${w.kind}`);

describe("SandboxWarmPool reconciler", () => {
  it("does nothing for a pool that is gone", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("reports TemplateNotFound, creates nothing and checks again later when its template is missing", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { pools: [pool(2)] } });
    const result = await reconcile(world);
    expect(verbs(world)).toEqual(["applyStatus SandboxWarmPool"]);
    expect(JSON.stringify(world.kube.writes[0]?.body)).toContain("TemplateNotFound");
    expect(result).toEqual({ requeueAfter: 60_000 });
  });

  it("creates the missing members from the template, owned by the pool and labelled as its members", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { pools: [pool(2)], templates: [template] } });
    await reconcile(world);
    expect(verbs(world)).toEqual(["create Sandbox", "create Sandbox", "applyStatus SandboxWarmPool"]);
    for (const w of world.kube.writes.filter((x) => x.verb === "create")) {
      const body = w.body as { metadata: { labels: Record<string, string>; ownerReferences: Array<{ uid: string; controller: boolean }> } };
      expect(w.name.startsWith(`${poolOwner.name}-`)).toBe(true);
      expect(body.metadata.labels[LabelKeys.WarmPoolSandbox]).toBe(nameHash(poolOwner.name));
      expect(body.metadata.labels[LabelKeys.LaunchType]).toBe("warm");
      expect(body.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: poolOwner.uid, controller: true })]);
    }
    expect(JSON.stringify(world.kube.writes[2]?.body)).toContain('"reason":"ReplicasNotReady"');
  });

  it("scales down by deleting the extra members with their UID and resourceVersion as preconditions", async () => {
    const members = [member("pool-a"), member("pool-b"), member("pool-c")];
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { pools: [pool(1)], templates: [template], sandboxes: members },
    });
    await reconcile(world);
    const deletes = world.kube.writes.filter((w) => w.verb === "delete");
    expect(deletes).toHaveLength(2);
    for (const d of deletes) expect(d.preconditions).toEqual({ uid: `uid-${d.name}`, resourceVersion: `rv-${d.name}` });
    expect(world.kube.writes.filter((w) => w.verb === "create")).toEqual([]);
    const status = world.kube.writes.find((w) => w.verb === "applyStatus")?.body as { status: { replicas: number; readyReplicas: number } };
    expect(status.status).toEqual(expect.objectContaining({ replicas: 1, readyReplicas: 1 }));
  });

  it("takes a member name someone else already created (409) as no error", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { pools: [pool(1)], templates: [template] } });
    world.kube.failNext("create", "Sandbox", new AlreadyExistsError("POST", "(test)", 409, { reason: "AlreadyExists" }));
    await expect(reconcile(world)).resolves.toBeUndefined();
    expect(verbs(world)).toEqual(["create Sandbox", "applyStatus SandboxWarmPool"]);
  });

  it("holds the refill back while a claim on the pool waits and a Ready member is there for it", async () => {
    const waiting = makeClaim({ warmPoolRef: { name: poolOwner.name } });
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { pools: [pool(2)], templates: [template], sandboxes: [member("pool-a")], claims: [waiting] },
    });
    const result = await reconcile(world);
    expect(world.kube.writes).toEqual([]);
    expect(result).toEqual({ requeueAfter: expect.any(Number) });
  });

  it("writes no status when the cached one already says the same", async () => {
    const full = pool(1);
    const members = [member("pool-a")];
    const first = reconcilerWorld({ config: testConfig, now: NOW, cached: { pools: [full], templates: [template], sandboxes: members } });
    await reconcile(first);
    const written = first.kube.stored("SandboxWarmPool", NS, poolOwner.name) as { status: unknown };
    const settled = { ...full, status: written.status };
    const second = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { pools: [settled], templates: [template], sandboxes: members },
    });
    await reconcile(second);
    expect(second.kube.writes).toEqual([]);
  });
});
