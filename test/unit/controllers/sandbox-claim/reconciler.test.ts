// The SandboxClaim reconciler, branch by branch, against in-memory caches and API server.
import { describe, expect, it } from "vitest";
import { AnnotationKeys, LabelKeys } from "../../../../src/api/index.js";
import { makeClaimReconciler } from "../../../../src/controllers/sandbox-claim/reconciler.js";
import { ConflictError, type ReconcileResult } from "../../../../src/runtime/index.js";
import { makeClaim, makePool, makePoolMember, makeSandbox, makeTemplate, testConfig } from "../fixtures.js";
import { reconcilerWorld, type ReconcilerWorld } from "../reconciler-harness.js";

const NS = "ns";
const NOW = new Date("2026-01-01T12:00:00Z");
const template = makeTemplate();

function claim(spec: Parameters<typeof makeClaim>[0] = {}, status?: Parameters<typeof makeClaim>[1]) {
  const c = makeClaim(spec, status);
  return { ...c, metadata: { ...c.metadata, resourceVersion: "3", creationTimestamp: "2026-01-01T11:59:59Z" } };
}

async function reconcile(world: ReconcilerWorld): Promise<ReconcileResult> {
  return makeClaimReconciler(world.deps)(`${NS}/claim`, world.ctx(NS, "claim"));
}

const verbs = (world: ReconcilerWorld): string[] =>
  world.kube.writes.map((w) => `${w.verb} ${w.kind}${w.kind === "Sandbox" ? ` ${w.name}` : ""}`);
const statusOf = (world: ReconcilerWorld): string => JSON.stringify(world.kube.writes.find((w) => w.verb === "applyStatus")?.body);

describe("SandboxClaim reconciler", () => {
  it("does nothing for a claim that is gone", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("refuses a claim on a pool that does not exist, with a Warning event, and looks again later", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { claims: [claim()] } });
    const result = await reconcile(world);
    expect(world.kube.writes.filter((w) => w.kind === "Sandbox")).toEqual([]);
    expect(statusOf(world)).toContain('"reason":"WarmPoolNotFound"');
    expect(world.events.events).toEqual([expect.objectContaining({ type: "Warning", reason: "WarmPoolNotFound" })]);
    expect(result).toEqual({ requeueAfter: 60_000 });
  });

  it("adopts a Ready member warm: re-parents it, names it on the claim, reports Ready at once", async () => {
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [claim()], pools: [makePool(1)], templates: [template], sandboxes: [makePoolMember("pool-a")] },
    });
    await reconcile(world);
    expect(verbs(world)).toEqual(["patch Sandbox pool-a", "patch SandboxClaim", "applyStatus SandboxClaim"]);
    const adoption = JSON.stringify(world.kube.writes[0]?.body);
    expect(adoption).toContain('"uid":"uid-claim"');
    expect(adoption).toContain('"resourceVersion":"rv-pool-a"');
    expect(JSON.stringify(world.kube.writes[1]?.body)).toContain(`"${AnnotationKeys.SandboxName}":"pool-a"`);
    expect(statusOf(world)).toContain('"name":"pool-a"');
    expect(world.events.events).toEqual([expect.objectContaining({ type: "Normal", reason: "SandboxAdopted" })]);
  });

  it("gives an adopted member the claim's idle timeout and starts its idle count at adoption; without one, neither", async () => {
    const idleClaim = claim();
    idleClaim.metadata = { ...idleClaim.metadata, annotations: { [AnnotationKeys.IdleTimeout]: "5m" } };
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [idleClaim], pools: [makePool(1)], templates: [template], sandboxes: [makePoolMember("pool-a")] },
    });
    await reconcile(world);
    const adoption = world.kube.writes[0]?.body as { metadata: { annotations?: Record<string, string> } };
    expect(adoption.metadata.annotations).toEqual({ [AnnotationKeys.IdleTimeout]: "5m", [AnnotationKeys.LastActivity]: NOW.toISOString() });

    const plain = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [claim()], pools: [makePool(1)], templates: [template], sandboxes: [makePoolMember("pool-a")] },
    });
    await reconcile(plain);
    expect((plain.kube.writes[0]?.body as { metadata: { annotations?: unknown } }).metadata.annotations).toBeUndefined();
  });

  it("after losing the race for the only member (409), starts cold and takes the member's name off the claim", async () => {
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [claim()], pools: [makePool(1)], templates: [template], sandboxes: [makePoolMember("pool-a")] },
    });
    world.kube.failNext("patch", "Sandbox", new ConflictError("PATCH", "(test)", 409, { reason: "Conflict" }));
    await reconcile(world);
    const seen = verbs(world);
    expect(seen.slice(0, 4)).toEqual(["patch Sandbox pool-a", "patch SandboxClaim", "patch SandboxClaim", "create Sandbox claim"]);
    expect(seen.at(-1)).toBe("applyStatus SandboxClaim");
    expect(world.kube.writes[2]?.body).toEqual({ metadata: { annotations: { [AnnotationKeys.SandboxName]: null } } });
    expect(world.events.events.map((e) => e.reason)).toEqual(["SandboxProvisioned"]);
  });

  it("starts cold when no member is Ready: a Sandbox named after the claim, owned by it and labelled with its UID", async () => {
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [claim()], pools: [makePool(1)], templates: [template], sandboxes: [makePoolMember("pool-a", false)] },
    });
    await reconcile(world);
    const create = world.kube.writes.find((w) => w.verb === "create");
    const body = create?.body as { metadata: { name: string; labels: Record<string, string>; ownerReferences: Array<{ uid: string }> } };
    expect(body.metadata.name).toBe("claim");
    expect(body.metadata.labels[LabelKeys.ClaimUID]).toBe("uid-claim");
    expect(body.metadata.labels[LabelKeys.LaunchType]).toBe("cold");
    expect(body.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: "uid-claim", controller: true })]);
  });

  it("refuses to take a Sandbox of its name that another owner controls", async () => {
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [claim()], pools: [makePool(0)], templates: [template] },
    });
    const foreign = makeSandbox({ name: "claim" });
    world.kube.preload({ ...foreign, metadata: { ...foreign.metadata, uid: "uid-other" } });
    const result = await reconcile(world);
    expect(statusOf(world)).toContain('sandbox \\"claim\\" is not controlled by claim \\"claim\\"');
    expect(world.events.events).toEqual([expect.objectContaining({ type: "Warning", reason: "ReconcilerError" })]);
    expect(result).toEqual({ requeueAfter: 30_000 });
  });

  it("reads its own writes in the next pass, before any watch event: no second adoption, no repeated write", async () => {
    const member = (name: string, rv: string) => {
      const m = makePoolMember(name);
      return { ...m, metadata: { ...m.metadata, resourceVersion: rv } };
    };
    const world = reconcilerWorld({
      config: testConfig,
      now: NOW,
      cached: { claims: [claim()], pools: [makePool(2)], templates: [template], sandboxes: [member("pool-a", "7"), member("pool-b", "8")] },
    });
    const reconcileClaim = makeClaimReconciler(world.deps);
    await reconcileClaim(`${NS}/claim`, world.ctx(NS, "claim"));
    expect(verbs(world)).toEqual(["patch Sandbox pool-a", "patch SandboxClaim", "applyStatus SandboxClaim"]);
    // The caches still hold what the (absent) watch last brought; the writes' answers are shown over it.
    expect(world.deps.caches.sandboxes.pendingWrites).toBe(1);
    expect(world.deps.caches.claims.pendingWrites).toBe(1);
    await reconcileClaim(`${NS}/claim`, world.ctx(NS, "claim"));
    expect(verbs(world)).toHaveLength(3);
  });

  it("on expiry with Retain, deletes its Sandbox (UID precondition) and reports the claim expired", async () => {
    const bound = makePoolMember("pool-a");
    const owned = {
      ...bound,
      metadata: {
        ...bound.metadata,
        ownerReferences: [
          { apiVersion: "extensions.agents.x-k8s.io/v1beta1", kind: "SandboxClaim", name: "claim", uid: "uid-claim", controller: true },
        ],
      },
    };
    const expired = claim(
      { lifecycle: { shutdownTime: "2026-01-01T11:00:00Z", shutdownPolicy: "Retain" } },
      { sandbox: { name: "pool-a" } },
    );
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { claims: [expired], sandboxes: [owned] } });
    await reconcile(world);
    expect(world.kube.writes[0]).toEqual(
      expect.objectContaining({ verb: "delete", kind: "Sandbox", name: "pool-a", preconditions: { uid: "uid-pool-a" } }),
    );
    expect(statusOf(world)).toContain('"reason":"ClaimExpired"');
    expect(world.events.events.map((e) => e.reason)).toEqual(["ClaimExpired"]);
  });

  it("copies its Sandbox's Finished and comes back when ttlSecondsAfterFinished runs out from it", async () => {
    const bound = makePoolMember("pool-a");
    const finished = {
      type: "Finished",
      status: "True" as const,
      reason: "PodSucceeded",
      message: "",
      lastTransitionTime: "2026-01-01T11:59:30Z",
      observedGeneration: 1,
    };
    const owned = {
      ...bound,
      metadata: {
        ...bound.metadata,
        ownerReferences: [
          { apiVersion: "extensions.agents.x-k8s.io/v1beta1", kind: "SandboxClaim", name: "claim", uid: "uid-claim", controller: true },
        ],
      },
      status: { ...bound.status, conditions: [...bound.status.conditions, finished] },
    };
    const running = claim({ lifecycle: { ttlSecondsAfterFinished: 90 } }, { sandbox: { name: "pool-a" } });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { claims: [running], sandboxes: [owned] } });
    const result = await reconcile(world);
    expect(statusOf(world)).toContain('"type":"Finished"');
    // 11:59:30 + 90 s is 12:01:00, a minute after now.
    expect(result).toEqual({ requeueAfter: 60_000 + 1 });
  });

  it("on expiry with Delete, deletes the claim itself with its UID as precondition", async () => {
    const expired = claim({ lifecycle: { shutdownTime: "2026-01-01T11:00:00Z", shutdownPolicy: "Delete" } });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { claims: [expired] } });
    await reconcile(world);
    expect(world.kube.writes).toEqual([
      expect.objectContaining({ verb: "delete", kind: "SandboxClaim", name: "claim", preconditions: { uid: "uid-claim" } }),
    ]);
  });
});
