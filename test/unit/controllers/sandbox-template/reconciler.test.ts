// The SandboxTemplate reconciler, branch by branch, against in-memory caches and API server.
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  desiredTemplatePolicy,
  makeTemplateReconciler,
  templatePolicyName,
} from "../../../../src/controllers/sandbox-template/reconciler.js";
import { makeTemplate, testConfig } from "../fixtures.js";
import { reconcilerWorld } from "../reconciler-harness.js";

const NS = "ns";
const template = makeTemplate();
const policyName = templatePolicyName(template.metadata.name);

/** The policy the reconciler would write for `t`, as stored by the API server (with a UID). */
function livePolicy(t = template, uid = "uid-policy"): KubernetesObject {
  const { policy } = desiredTemplatePolicy(t, { config: testConfig });
  return { ...policy, metadata: { ...policy.metadata, uid, resourceVersion: "7" } };
}

async function reconcile(world: ReturnType<typeof reconcilerWorld>, name = template.metadata.name): Promise<void> {
  await makeTemplateReconciler(world.deps)(`${NS}/${name}`, world.ctx(NS, name));
}

describe("SandboxTemplate reconciler", () => {
  it("does nothing for a template that is gone", async () => {
    const world = reconcilerWorld({ config: testConfig });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("does nothing for a template being deleted (its policy goes with it by owner reference)", async () => {
    const deleting = { ...template, metadata: { ...template.metadata, deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["x"] } };
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [deleting] } });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("applies the router-only policy, owned by the template, when the template has none", async () => {
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [template] } });
    await reconcile(world);
    expect(world.kube.writes.map((w) => `${w.verb} ${w.kind} ${w.name}`)).toEqual([`apply NetworkPolicy ${policyName}`]);
    const stored = world.kube.stored("NetworkPolicy", NS, policyName) as KubernetesObject & {
      spec: { ingress: unknown[]; egress?: unknown[] };
    };
    expect(stored.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: "SandboxTemplate", uid: template.metadata.uid, controller: true }),
    ]);
    expect(stored.spec.ingress).toHaveLength(1);
    expect(JSON.stringify(stored.spec.ingress)).toContain(testConfig.routerNamespace);
    expect(stored.spec.egress ?? []).toEqual([]);
    expect(world.events.events).toEqual([]);
  });

  it("writes nothing when the cached policy already holds what is wanted", async () => {
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [template], networkPolicies: [livePolicy()] } });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("re-applies a policy edited by hand", async () => {
    const edited = livePolicy() as KubernetesObject & { spec: Record<string, unknown> };
    edited.spec = { ...edited.spec, ingress: [{}] };
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [template], networkPolicies: [edited] } });
    await reconcile(world);
    expect(world.kube.writes.map((w) => w.verb)).toEqual(["apply"]);
    expect(JSON.stringify((world.kube.stored("NetworkPolicy", NS, policyName) as { spec: unknown }).spec)).toContain(
      testConfig.routerNamespace,
    );
  });

  it("leaves cloud metadata out of a template's egress and says so with a Warning event", async () => {
    const open = makeTemplate({
      networkPolicy: { egress: [{ to: [{ ipBlock: { cidr: "169.254.169.254/32" } }, { ipBlock: { cidr: "10.0.0.0/8" } }] }] },
    });
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [open] } });
    await reconcile(world);
    const applied = JSON.stringify(world.kube.writes[0]?.body);
    expect(applied).toContain("10.0.0.0/8");
    expect(applied).not.toContain("169.254.169.254/32");
    expect(world.events.events).toEqual([
      expect.objectContaining({ regarding: `${NS}/${template.metadata.name}`, type: "Warning", reason: "CloudMetadataEgressRefused" }),
    ]);
  });

  it("with Unmanaged, deletes its own policy with the policy's UID as precondition", async () => {
    const unmanaged = makeTemplate({ networkPolicyManagement: "Unmanaged" });
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [unmanaged], networkPolicies: [livePolicy()] } });
    await reconcile(world);
    expect(world.kube.writes).toEqual([
      expect.objectContaining({ verb: "delete", kind: "NetworkPolicy", name: policyName, preconditions: { uid: "uid-policy" } }),
    ]);
    expect(world.kube.stored("NetworkPolicy", NS, policyName)).toBeUndefined();
  });

  it("with Unmanaged, leaves alone a policy of that name it does not own", async () => {
    const unmanaged = makeTemplate({ networkPolicyManagement: "Unmanaged" });
    const foreign = livePolicy();
    foreign.metadata = { ...foreign.metadata, ownerReferences: [] };
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [unmanaged], networkPolicies: [foreign] } });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("with Unmanaged, takes a policy already gone (404 on delete) as done", async () => {
    const unmanaged = makeTemplate({ networkPolicyManagement: "Unmanaged" });
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [unmanaged], networkPolicies: [livePolicy()] } });
    await world.kube.delete({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespace: NS, name: policyName });
    world.kube.writes.length = 0;
    await expect(reconcile(world)).resolves.toBeUndefined();
    expect(world.kube.writes.map((w) => w.verb)).toEqual(["delete"]);
  });

  it("passes an API error on to the controller, which retries with backoff", async () => {
    const world = reconcilerWorld({ config: testConfig, cached: { templates: [template] } });
    world.kube.failNext("apply", "NetworkPolicy", new Error("connection reset"));
    await expect(reconcile(world)).rejects.toThrow("connection reset");
  });
});
