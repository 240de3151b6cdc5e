// SandboxTemplate, SandboxWarmPool and SandboxClaim against a real API server: pool fill and
// refill, rollout under each update strategy (and which members claims adopt during one), warm
// adoption of Ready members only, cold fallback, exactly one sandbox per claim under a burst and
// across an operator restart, env injection policy, expiry, scale subresource.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound, type Kube } from "../../../src/runtime/index.js";
import { nameHash } from "../../../src/controllers/shared/name-hash.js";
import { freshNamespace, testKube, waitFor } from "../harness/cluster.js";
import {
  claimManifest,
  condition,
  fakeNodePodTemplate,
  poolManifest,
  startOperator,
  templateManifest,
  type RunningOperator,
} from "./operator-fixture.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
const SB = "agents.x-k8s.io/v1beta1";
type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

let kube: Kube;
let operator: RunningOperator;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
});
afterAll(async () => {
  await operator?.stop();
});

async function listSandboxes(ns: string): Promise<Obj[]> {
  return (await kube.list<Obj>({ apiVersion: SB, kind: "Sandbox" }, { namespace: ns })).items;
}
const poolMembers = (all: Obj[], pool: string) =>
  all.filter((s) => s.metadata?.labels?.["agents.x-k8s.io/warm-pool-sandbox"] === nameHash(pool) && !s.metadata?.deletionTimestamp);
const getClaim = (ns: string, name: string) => kube.get<Obj>({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name });
const readyClaim = (ns: string, name: string, timeoutMs = 30_000) =>
  waitFor(
    async () => {
      const c = await getClaim(ns, name);
      return condition(c, "Ready")?.status === "True" ? c : undefined;
    },
    { timeoutMs, message: `claim ${name} Ready` },
  );
const poolStatus = (ns: string, name: string) =>
  kube.get<Obj>({ apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name }).then((p) => p.status ?? {});
const poolReady = (ns: string, name: string, replicas: number) =>
  waitFor(
    async () => {
      const s = await poolStatus(ns, name);
      return s["readyReplicas"] === replicas && s["replicas"] === replicas ? s : undefined;
    },
    { timeoutMs: 60_000, message: `pool ${name} ${replicas}/${replicas} Ready` },
  );

interface EventObj {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string };
}
async function eventsFor(ns: string, name: string): Promise<EventObj[]> {
  const list = await kube.list<KubernetesObject & EventObj>({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: ns });
  return list.items.filter((e) => e.regarding?.name === name);
}

async function setUpPool(ns: string, replicas: number, templateSpec: Record<string, unknown> = {}): Promise<void> {
  await kube.create(templateManifest(ns, "python", templateSpec));
  await kube.create(poolManifest(ns, "python-pool", "python", replicas));
}

describe("warm pool", () => {
  it("fills to spec.replicas Ready sandboxes, reports status, and shares the template's network policy", async () => {
    const ns = await freshNamespace("pool-fill");
    await setUpPool(ns, 3);
    const status = await poolReady(ns, "python-pool", 3);
    expect(status["selector"]).toBe(`agents.x-k8s.io/warm-pool-sandbox=${nameHash("python-pool")}`);
    expect(status["observedGeneration"]).toBe(1);
    const members = poolMembers(await listSandboxes(ns), "python-pool");
    expect(members).toHaveLength(3);
    for (const m of members) {
      expect(m.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "SandboxWarmPool", name: "python-pool", controller: true });
      expect(m.metadata?.labels?.["agents.x-k8s.io/sandbox-template-ref-hash"]).toBe(nameHash("python"));
      expect(m.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("warm");
    }
    const np = await kube.get<Obj>({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      namespace: ns,
      name: "python-network-policy",
    });
    expect(np.spec?.["podSelector"]).toEqual({ matchLabels: { "agents.x-k8s.io/sandbox-template-ref-hash": nameHash("python") } });
    expect(np.spec?.["egress"]).toBeUndefined();
  });

  it("follows the scale subresource (as an HPA drives it) up and down", async () => {
    const ns = await freshNamespace("pool-scale");
    await setUpPool(ns, 1);
    await poolReady(ns, "python-pool", 1);
    await kube.patch(
      { apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "python-pool" },
      { spec: { replicas: 4 } },
      { type: "merge", subresource: "scale" },
    );
    await poolReady(ns, "python-pool", 4);
    await kube.patch(
      { apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "python-pool" },
      { spec: { replicas: 2 } },
      { type: "merge", subresource: "scale" },
    );
    await poolReady(ns, "python-pool", 2);
    await waitFor(async () => poolMembers(await listSandboxes(ns), "python-pool").length === 2, { message: "excess members deleted" });
  });

  it("deletes an excess member again after a delete that failed (the failed delete is not counted as pending)", async () => {
    const ns = await freshNamespace("pool-delete-fails");
    // An admission policy refuses deleting sandboxes marked undeletable: the pool's scale-down fails.
    const policy = `faults-undeletable-${ns}`;
    await kube.create({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: policy },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [{ apiGroups: ["agents.x-k8s.io"], apiVersions: ["*"], operations: ["DELETE"], resources: ["sandboxes"] }],
        },
        validations: [
          {
            expression: "!has(oldObject.metadata.annotations) || !('test/undeletable' in oldObject.metadata.annotations)",
            message: "undeletable (test)",
          },
        ],
      },
    } as KubernetesObject);
    await kube.create({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: policy },
      spec: {
        policyName: policy,
        validationActions: ["Deny"],
        matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } },
      },
    } as KubernetesObject);
    try {
      await setUpPool(ns, 2);
      await poolReady(ns, "python-pool", 2);
      const mark = (name: string, on: boolean) =>
        kube.patch(
          { apiVersion: SB, kind: "Sandbox", namespace: ns, name },
          { metadata: { annotations: { "test/undeletable": on ? "true" : null } } },
          { type: "merge" },
        );
      const members = poolMembers(await listSandboxes(ns), "python-pool").map((m) => m.metadata?.name ?? "");
      for (const m of members) await mark(m, true);
      // The policy takes a moment to load: wait until deleting a marked probe is refused.
      const probe = { apiVersion: SB, kind: "Sandbox", namespace: ns, name: "probe" };
      await waitFor(
        async () => {
          await kube
            .create({
              apiVersion: SB,
              kind: "Sandbox",
              metadata: { name: "probe", namespace: ns, annotations: { "test/undeletable": "true" } },
              spec: { podTemplate: fakeNodePodTemplate() },
            } as KubernetesObject)
            .catch(() => undefined);
          try {
            await kube.delete(probe);
            return false;
          } catch (err) {
            return /undeletable/.test(String(err));
          }
        },
        { message: "admission policy in force" },
      );
      await mark("probe", false);
      await kube.delete(probe);
      await kube.patch(
        { apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "python-pool" },
        { spec: { replicas: 1 } },
        { type: "merge", subresource: "scale" },
      );
      // Give the pool time to try (and fail) its scale-down before deletes are allowed again.
      await new Promise((r) => setTimeout(r, 2_000));
      for (const m of members) await mark(m, false);
      await waitFor(async () => poolMembers(await listSandboxes(ns), "python-pool").length === 1, {
        timeoutMs: 30_000,
        message: "excess member deleted once deletes are allowed",
      });
      await poolReady(ns, "python-pool", 1);
    } finally {
      await kube
        .delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", name: policy })
        .catch(() => undefined);
      await kube
        .delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", name: policy })
        .catch(() => undefined);
    }
  });

  it("reports a missing template on the pool and recovers when it appears", async () => {
    const ns = await freshNamespace("pool-missing");
    await kube.create(poolManifest(ns, "orphan-pool", "later", 1));
    const pool = await waitFor(
      async () => {
        const p = await kube.get<Obj>({ apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "orphan-pool" });
        return condition(p, "Ready")?.reason === "TemplateNotFound" ? p : undefined;
      },
      { message: "TemplateNotFound" },
    );
    expect(condition(pool, "Ready")?.message).toContain("later");
    await kube.create(templateManifest(ns, "later"));
    await poolReady(ns, "orphan-pool", 1);
  });
});

// Upstream's warm pool rollout cases (its e2e warmpool_rollout_test.go): what replaces members
// under each update strategy, and what does not.
describe("warm pool rollout", () => {
  const testEnv = [{ name: "TEST_ENV", value: "updated" }];
  const hasTestEnv = (m: Obj) =>
    (m.spec?.["podTemplate"] as { spec: { containers: { env?: { name: string; value: string }[] }[] } }).spec.containers[0]?.env?.some(
      (e) => e.name === "TEST_ENV" && e.value === "updated",
    ) ?? false;
  const podLabels = (m: Obj) => (m.spec?.["podTemplate"] as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
  const patchTemplate = (ns: string, name: string, podTemplate: unknown) =>
    kube.patch({ apiVersion: EXT, kind: "SandboxTemplate", namespace: ns, name }, { spec: { podTemplate } }, { type: "merge" });
  const scalePool = (ns: string, replicas: number) =>
    kube.patch(
      { apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "python-pool" },
      { spec: { replicas } },
      { type: "merge", subresource: "scale" },
    );
  const memberNames = async (ns: string) => poolMembers(await listSandboxes(ns), "python-pool").map((m) => m.metadata?.name ?? "");
  /** Waits for a member the pool built after `before`, and returns it. */
  const newMember = (ns: string, before: string[]) =>
    waitFor(async () => poolMembers(await listSandboxes(ns), "python-pool").find((m) => !before.includes(m.metadata?.name ?? "")), {
      timeoutMs: 30_000,
      message: "a new pool member",
    });
  const stillThere = async (ns: string, names: string[]) => {
    const live = await memberNames(ns);
    for (const n of names) expect(live).toContain(n);
  };
  /**
   * Changes the template and waits until the operator's cache shows the change, so a claim made
   * next is judged against the new template (no member is rebuilt first: every member is old).
   */
  const changeTemplate = async (ns: string, podTemplate: unknown) => {
    const patched = await patchTemplate(ns, "python", podTemplate);
    await waitFor(() => operator.deps.caches.templates.get(ns, "python")?.metadata.resourceVersion === patched.metadata?.resourceVersion, {
      message: "the operator sees the changed template",
    });
  };
  const claimedSandbox = async (ns: string, claim: string) => {
    const name = ((await readyClaim(ns, claim)).status?.["sandbox"] as { name: string }).name;
    return kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name });
  };

  it("Recreate replaces members when the template's pod spec changes", async () => {
    const ns = await freshNamespace("rollout-recreate");
    await kube.create(templateManifest(ns, "python"));
    await kube.create(poolManifest(ns, "python-pool", "python", 2, { updateStrategy: { type: "Recreate" } }));
    await poolReady(ns, "python-pool", 2);
    const before = await memberNames(ns);
    await patchTemplate(ns, "python", fakeNodePodTemplate({ env: testEnv }));
    await waitFor(
      async () => {
        const now = poolMembers(await listSandboxes(ns), "python-pool");
        return now.length === 2 && now.every((m) => !before.includes(m.metadata?.name ?? "") && hasTestEnv(m));
      },
      { timeoutMs: 60_000, message: "members rebuilt from the new template" },
    );
    await poolReady(ns, "python-pool", 2);
  });

  it("Recreate replaces members when the pool switches to another template with an identical spec", async () => {
    const ns = await freshNamespace("rollout-switch");
    await kube.create(templateManifest(ns, "template-a"));
    await kube.create(templateManifest(ns, "template-b"));
    await kube.create(poolManifest(ns, "python-pool", "template-a", 2, { updateStrategy: { type: "Recreate" } }));
    await poolReady(ns, "python-pool", 2);
    const before = await memberNames(ns);
    await kube.patch(
      { apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "python-pool" },
      { spec: { sandboxTemplateRef: { name: "template-b" } } },
      { type: "merge" },
    );
    const members = await waitFor(
      async () => {
        const now = poolMembers(await listSandboxes(ns), "python-pool");
        return now.length === 2 && now.every((m) => !before.includes(m.metadata?.name ?? "")) ? now : undefined;
      },
      { timeoutMs: 60_000, message: "members rebuilt from template-b" },
    );
    for (const m of members) {
      expect(m.metadata?.annotations?.["agents.x-k8s.io/sandbox-template-ref"]).toBe("template-b");
      expect(m.metadata?.labels?.["agents.x-k8s.io/sandbox-template-ref-hash"]).toBe(nameHash("template-b"));
    }
    await poolReady(ns, "python-pool", 2);
  });

  it("Recreate replaces only the members of the pool whose template changed", async () => {
    const ns = await freshNamespace("rollout-isolation");
    await kube.create(templateManifest(ns, "template-a"));
    await kube.create(templateManifest(ns, "template-b"));
    await kube.create(poolManifest(ns, "pool-a", "template-a", 1, { updateStrategy: { type: "Recreate" } }));
    await kube.create(poolManifest(ns, "pool-b", "template-b", 1, { updateStrategy: { type: "Recreate" } }));
    await poolReady(ns, "pool-a", 1);
    await poolReady(ns, "pool-b", 1);
    const all = await listSandboxes(ns);
    const [a] = poolMembers(all, "pool-a").map((m) => m.metadata?.name ?? "");
    const [b] = poolMembers(all, "pool-b").map((m) => m.metadata?.name ?? "");
    await patchTemplate(ns, "template-a", fakeNodePodTemplate({ env: testEnv }));
    await waitFor(
      async () => {
        const now = poolMembers(await listSandboxes(ns), "pool-a");
        return now.length === 1 && now[0]?.metadata?.name !== a && hasTestEnv(now[0] as Obj);
      },
      { timeoutMs: 60_000, message: "pool-a's member rebuilt from the new template-a" },
    );
    await poolReady(ns, "pool-a", 1);
    expect(poolMembers(await listSandboxes(ns), "pool-b").map((m) => m.metadata?.name)).toEqual([b]);
  });

  it("Recreate leaves members (and their metadata) alone when only the template's pod labels change", async () => {
    const ns = await freshNamespace("rollout-metadata");
    await kube.create(templateManifest(ns, "python", { podTemplate: fakeNodePodTemplate({ labels: { "initial-label": "value" } }) }));
    await kube.create(poolManifest(ns, "python-pool", "python", 2, { updateStrategy: { type: "Recreate" } }));
    await poolReady(ns, "python-pool", 2);
    const before = await memberNames(ns);
    await patchTemplate(ns, "python", fakeNodePodTemplate({ labels: { "initial-label": "value", "new-label": "new-value" } }));
    // A member added after the change carries the new labels, so the pool has judged the old
    // members against the changed template by the time it is there.
    await scalePool(ns, 3);
    const added = await newMember(ns, before);
    expect(podLabels(added)["new-label"]).toBe("new-value");
    await poolReady(ns, "python-pool", 3);
    await stillThere(ns, before);
    for (const m of poolMembers(await listSandboxes(ns), "python-pool").filter((x) => before.includes(x.metadata?.name ?? ""))) {
      expect(podLabels(m)["new-label"]).toBeUndefined();
    }
  });

  for (const strategy of [undefined, "OnReplenish"] as const) {
    it(`${strategy ?? "the default strategy"} keeps members on a spec change and builds their replacements from the new spec`, async () => {
      const ns = await freshNamespace(`rollout-${strategy ?? "default"}`.toLowerCase());
      await kube.create(templateManifest(ns, "python"));
      await kube.create(poolManifest(ns, "python-pool", "python", 1, strategy ? { updateStrategy: { type: strategy } } : {}));
      await poolReady(ns, "python-pool", 1);
      const before = await memberNames(ns);
      await patchTemplate(ns, "python", fakeNodePodTemplate({ env: testEnv }));
      await scalePool(ns, 2);
      expect(hasTestEnv(await newMember(ns, before))).toBe(true);
      await poolReady(ns, "python-pool", 2);
      await stillThere(ns, before);
      const known = await memberNames(ns);
      const [old] = before;
      await kube.delete({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: old ?? "" });
      const replacement = await newMember(ns, known);
      expect(hasTestEnv(replacement)).toBe(true);
      await poolReady(ns, "python-pool", 2);
    });
  }

  // Which members a claim adopts while a rollout is under way: upstream's claim controller takes
  // any member of an OnReplenish pool, and only members its pool keeps from a Recreate pool.
  it("Recreate: a claim adopts a member the pool keeps after a label-only template change", async () => {
    const ns = await freshNamespace("rollout-claim-metadata");
    await kube.create(templateManifest(ns, "python", { podTemplate: fakeNodePodTemplate({ labels: { "initial-label": "value" } }) }));
    await kube.create(poolManifest(ns, "python-pool", "python", 2, { updateStrategy: { type: "Recreate" } }));
    await poolReady(ns, "python-pool", 2);
    const before = await memberNames(ns);
    await changeTemplate(ns, fakeNodePodTemplate({ labels: { "initial-label": "value", "new-label": "new-value" } }));
    await kube.create(claimManifest(ns, "agent-1", "python-pool"));
    const sandbox = await claimedSandbox(ns, "agent-1");
    expect(before).toContain(sandbox.metadata?.name);
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("warm");
    // The other old member stays in the pool, and the refill is built from the new template.
    const added = await newMember(ns, before);
    expect(podLabels(added)["new-label"]).toBe("new-value");
    await poolReady(ns, "python-pool", 2);
    await stillThere(
      ns,
      before.filter((n) => n !== sandbox.metadata?.name),
    );
  });

  it("Recreate: a claim made after a spec change gets the new spec, never an old member", async () => {
    const ns = await freshNamespace("rollout-claim-recreate");
    await kube.create(templateManifest(ns, "python"));
    await kube.create(poolManifest(ns, "python-pool", "python", 2, { updateStrategy: { type: "Recreate" } }));
    await poolReady(ns, "python-pool", 2);
    const before = await memberNames(ns);
    await changeTemplate(ns, fakeNodePodTemplate({ env: testEnv }));
    await kube.create(claimManifest(ns, "agent-1", "python-pool"));
    const sandbox = await claimedSandbox(ns, "agent-1");
    expect(before).not.toContain(sandbox.metadata?.name);
    expect(hasTestEnv(sandbox)).toBe(true);
  });

  for (const strategy of [undefined, "OnReplenish"] as const) {
    it(`${strategy ?? "the default strategy"}: a claim adopts a member built from the old spec after a spec change`, async () => {
      const ns = await freshNamespace(`rollout-claim-${strategy ?? "default"}`.toLowerCase());
      await kube.create(templateManifest(ns, "python"));
      await kube.create(poolManifest(ns, "python-pool", "python", 1, strategy ? { updateStrategy: { type: strategy } } : {}));
      await poolReady(ns, "python-pool", 1);
      const before = await memberNames(ns);
      await changeTemplate(ns, fakeNodePodTemplate({ env: testEnv }));
      await kube.create(claimManifest(ns, "agent-1", "python-pool"));
      const sandbox = await claimedSandbox(ns, "agent-1");
      expect(before).toContain(sandbox.metadata?.name);
      expect(sandbox.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("warm");
      expect(hasTestEnv(sandbox)).toBe(false);
      // The member that replaces it is built from the new spec.
      expect(hasTestEnv(await newMember(ns, before))).toBe(true);
      await poolReady(ns, "python-pool", 1);
    });
  }
});

describe("claims", () => {
  it("adopts a Ready warm member, then the pool refills", async () => {
    const ns = await freshNamespace("claim-warm");
    await setUpPool(ns, 2, { service: true });
    await poolReady(ns, "python-pool", 2);
    const members = poolMembers(await listSandboxes(ns), "python-pool").map((m) => m.metadata?.name);

    await kube.create(claimManifest(ns, "agent-1", "python-pool"));
    const claim = await readyClaim(ns, "agent-1");
    const sandboxName = (claim.status?.["sandbox"] as { name: string }).name;
    expect(members).toContain(sandboxName);
    expect((claim.status?.["sandbox"] as { podIPs: string[] }).podIPs.length).toBeGreaterThan(0);
    const sandbox = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: sandboxName });
    expect(sandbox.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: "SandboxClaim", name: "agent-1", uid: claim.metadata?.uid, controller: true }),
    ]);
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/warm-pool-sandbox"]).toBeUndefined();
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/claim-uid"]).toBe(claim.metadata?.uid);
    // As upstream: the Sandbox's Ready comes through whole, at the claim's generation, and
    // status.sandbox mirrors the Sandbox's Service FQDN.
    const sandboxReady = condition(sandbox, "Ready");
    expect(condition(claim, "Ready")).toEqual({ ...sandboxReady, message: "Pod is Ready; Service Exists", observedGeneration: 1 });
    expect((claim.status?.["sandbox"] as { serviceFQDN?: string }).serviceFQDN).toBe(`${sandboxName}.${ns}.svc.cluster.local`);
    // The pod follows its sandbox out of the pool's selector.
    await waitFor(
      async () => {
        const pod = await kube.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: sandboxName });
        return (
          pod.metadata?.labels?.["agents.x-k8s.io/warm-pool-sandbox"] === undefined &&
          pod.metadata?.labels?.["agents.x-k8s.io/claim-uid"] === claim.metadata?.uid
        );
      },
      { message: "pod labels follow adoption" },
    );
    await poolReady(ns, "python-pool", 2);
    const after = poolMembers(await listSandboxes(ns), "python-pool").map((m) => m.metadata?.name);
    expect(after).not.toContain(sandboxName);
    const adopted = await waitFor(async () => (await eventsFor(ns, "agent-1")).find((e) => e.reason === "SandboxAdopted"), {
      message: "SandboxAdopted event",
    });
    expect(adopted.note).toContain(sandboxName);
  });

  it("never adopts a member that is not Ready: it starts cold instead", async () => {
    const ns = await freshNamespace("claim-notready");
    // A template whose pods cannot schedule (no toleration for the fake node, no real node).
    await kube.create(templateManifest(ns, "python", { podTemplate: { spec: { containers: [{ name: "main", image: "x:1" }] } } }));
    await kube.create(poolManifest(ns, "python-pool", "python", 2));
    await waitFor(async () => poolMembers(await listSandboxes(ns), "python-pool").length === 2, { message: "members created" });
    await kube.create(claimManifest(ns, "agent-1", "python-pool"));
    const claim = await waitFor(
      async () => {
        const c = await getClaim(ns, "agent-1");
        return (c.status?.["sandbox"] as { name?: string } | undefined)?.name ? c : undefined;
      },
      { message: "claim bound" },
    );
    expect((claim.status?.["sandbox"] as { name: string }).name).toBe("agent-1");
    const sandbox = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: "agent-1" });
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("cold");
    expect(poolMembers(await listSandboxes(ns), "python-pool")).toHaveLength(2);
  });

  it("gives every claim of a burst exactly one sandbox, and the pool never over-creates", async () => {
    const ns = await freshNamespace("claim-burst");
    await setUpPool(ns, 5);
    await poolReady(ns, "python-pool", 5);
    const claims = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    await Promise.all(claims.map((c) => kube.create(claimManifest(ns, c, "python-pool"))));
    const bound = await Promise.all(claims.map((c) => readyClaim(ns, c, 60_000)));
    const names = bound.map((c) => (c.status?.["sandbox"] as { name: string }).name);
    expect(new Set(names).size).toBe(claims.length);
    await poolReady(ns, "python-pool", 5);

    const all = await listSandboxes(ns);
    for (const claim of bound) {
      const owned = all.filter((s) => s.metadata?.ownerReferences?.some((r) => r.uid === claim.metadata?.uid));
      expect(owned.map((s) => s.metadata?.name)).toEqual([(claim.status?.["sandbox"] as { name: string }).name]);
    }
    expect(poolMembers(all, "python-pool")).toHaveLength(5);
    expect(all.length).toBe(claims.length + 5);
  });

  it("keeps exactly one sandbox per claim when the operator is restarted mid-burst", async () => {
    const ns = await freshNamespace("claim-restart");
    await setUpPool(ns, 3);
    await poolReady(ns, "python-pool", 3);
    const claims = Array.from({ length: 8 }, (_, i) => `restart-${i}`);
    const creating = Promise.all(claims.map((c) => kube.create(claimManifest(ns, c, "python-pool"))));
    await operator.stop();
    await creating;
    operator = await startOperator();
    const bound = await Promise.all(claims.map((c) => readyClaim(ns, c, 60_000)));
    const all = await listSandboxes(ns);
    for (const claim of bound) {
      const owned = all.filter((s) => s.metadata?.ownerReferences?.some((r) => r.uid === claim.metadata?.uid));
      expect(owned).toHaveLength(1);
    }
    await poolReady(ns, "python-pool", 3);
    expect(poolMembers(await listSandboxes(ns), "python-pool")).toHaveLength(3);
  });

  it("reports a missing pool and binds once it exists", async () => {
    const ns = await freshNamespace("claim-nopool");
    await kube.create(claimManifest(ns, "early", "not-yet"));
    const waiting = await waitFor(
      async () => {
        const c = await getClaim(ns, "early");
        return condition(c, "Ready")?.reason === "WarmPoolNotFound" ? c : undefined;
      },
      { message: "WarmPoolNotFound" },
    );
    expect(condition(waiting, "Ready")?.message).toBe('SandboxWarmPool "not-yet" not found');
    await kube.create(templateManifest(ns, "python"));
    await kube.create(poolManifest(ns, "not-yet", "python", 0));
    await readyClaim(ns, "early");
  });

  it("applies the template's env injection policy", async () => {
    const ns = await freshNamespace("claim-env");
    await kube.create(templateManifest(ns, "strict"));
    await kube.create(poolManifest(ns, "strict-pool", "strict", 0));
    await kube.create(
      templateManifest(ns, "open", {
        envVarsInjectionPolicy: "Allowed",
        podTemplate: fakeNodePodTemplate({ env: [{ name: "MODE", value: "template" }] }),
      }),
    );
    await kube.create(poolManifest(ns, "open-pool", "open", 1));

    await kube.create(claimManifest(ns, "refused", "strict-pool", { env: [{ name: "API_KEY", value: "x" }] }));
    const refused = await waitFor(
      async () => {
        const c = await getClaim(ns, "refused");
        return condition(c, "Ready")?.reason === "EnvVarsInjectionRejected" ? c : undefined;
      },
      { message: "env refused" },
    );
    expect(condition(refused, "Ready")?.message).toContain("spec.env");
    await waitFor(
      async () => (await eventsFor(ns, "refused")).some((e) => e.reason === "EnvVarsInjectionRejected" && e.type === "Warning"),
      {
        message: "Warning event for the refused claim",
      },
    );

    await kube.create(claimManifest(ns, "override", "open-pool", { env: [{ name: "MODE", value: "claim" }] }));
    const overriding = await waitFor(
      async () => {
        const c = await getClaim(ns, "override");
        return condition(c, "Ready")?.reason === "EnvVarsInjectionRejected" ? c : undefined;
      },
      { message: "override refused under Allowed" },
    );
    expect(condition(overriding, "Ready")?.message).toContain("Overrides");

    await kube.create(claimManifest(ns, "injected", "open-pool", { env: [{ name: "API_KEY", value: "secret-1" }] }));
    const claim = await readyClaim(ns, "injected");
    const sandboxName = (claim.status?.["sandbox"] as { name: string }).name;
    expect(sandboxName).toBe("injected"); // env forces a cold start
    const pod = await kube.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: sandboxName });
    const env = pod.spec?.containers.find((c) => c.name === "main")?.env ?? [];
    expect(env).toEqual(
      expect.arrayContaining([
        { name: "MODE", value: "template" },
        { name: "API_KEY", value: "secret-1" },
      ]),
    );
  });

  it("expires: Retain deletes the sandbox and keeps the claim; Delete removes the claim", async () => {
    const ns = await freshNamespace("claim-expiry");
    await setUpPool(ns, 2);
    await poolReady(ns, "python-pool", 2);
    const soon = new Date(Date.now() + 4_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    await kube.create(claimManifest(ns, "kept", "python-pool", { lifecycle: { shutdownTime: soon } }));
    await kube.create(claimManifest(ns, "gone", "python-pool", { lifecycle: { shutdownTime: soon, shutdownPolicy: "Delete" } }));
    const kept = await readyClaim(ns, "kept");
    const keptSandbox = (kept.status?.["sandbox"] as { name: string }).name;

    const expired = await waitFor(
      async () => {
        const c = await getClaim(ns, "kept");
        return condition(c, "Ready")?.reason === "ClaimExpired" ? c : undefined;
      },
      { timeoutMs: 20_000, message: "ClaimExpired" },
    );
    expect(condition(expired, "Ready")).toMatchObject({
      status: "False",
      message: "Claim expired. Sandbox cleanup initiated.",
      observedGeneration: 1,
    });
    await waitFor(
      async () => {
        try {
          await kube.get({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: keptSandbox });
          return false;
        } catch (err) {
          return isNotFound(err);
        }
      },
      { timeoutMs: 20_000, message: "expired claim's sandbox deleted" },
    );
    // Once the Sandbox is gone the claim no longer names it (upstream clears status.sandbox).
    await waitFor(async () => ((await getClaim(ns, "kept")).status?.["sandbox"] === undefined ? true : undefined), {
      message: "status.sandbox cleared",
    });
    await waitFor(
      async () => {
        try {
          await getClaim(ns, "gone");
          return false;
        } catch (err) {
          return isNotFound(err);
        }
      },
      { timeoutMs: 20_000, message: "claim with Delete policy removed" },
    );
  });
});
