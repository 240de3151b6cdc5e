// The Sandbox controller against a real API server: object shapes, secure defaults, status,
// suspend/resume, expiry, drift repair and garbage collection.
import type { KubernetesObject, V1Pod, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound, Kube } from "../../../src/runtime/index.js";
import { nameHash } from "../../../src/controllers/shared/name-hash.js";
import { freshNamespace, testKube, testKubeConfig, waitFor } from "../harness/cluster.js";
import { execdTrustedKey } from "../harness/execd-token-key.js";
import { condition, sandboxManifest, startOperator, type RunningOperator } from "./operator-fixture.js";

const SB = { apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox" } as const;
let kube: Kube;
let ns: string;
let operator: RunningOperator;

beforeAll(async () => {
  kube = testKube();
  ns = await freshNamespace("sandbox-ctrl");
  operator = await startOperator();
});
afterAll(async () => {
  await operator?.stop();
});

const get = <T extends KubernetesObject>(kind: string, name: string, apiVersion = "v1") =>
  kube.get<T>({ apiVersion, kind, namespace: ns, name });
const getSandbox = (name: string) => get<KubernetesObject & { status?: Record<string, unknown> }>("Sandbox", name, SB.apiVersion);
const gone = async (kind: string, name: string, apiVersion = "v1") => {
  try {
    await get(kind, name, apiVersion);
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
};
/** The conditions without their transition times, in type order, as upstream's e2e compares them. */
const conditionsOf = (obj: unknown) =>
  ((obj as { status?: { conditions?: Array<Record<string, unknown>> } }).status?.conditions ?? [])
    .map(({ lastTransitionTime: _t, ...c }) => c)
    .sort((a, b) => String(a["type"]).localeCompare(String(b["type"])));
const readySandbox = (name: string) =>
  waitFor(
    async () => {
      const s = await getSandbox(name);
      return condition(s, "Ready")?.status === "True" ? s : undefined;
    },
    { timeoutMs: 30_000, message: `Sandbox ${name} Ready` },
  );

describe("Sandbox -> Pod, Service, NetworkPolicy", () => {
  it("creates one pod with the secure defaults, the execd sidecar, and reports Ready status", async () => {
    await kube.create(sandboxManifest(ns, "basic", { service: true }));
    const sandbox = await readySandbox("basic");
    const pod = await get<V1Pod>("Pod", "basic");
    const spec = pod.spec!;

    expect(pod.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Sandbox", name: "basic", uid: sandbox.metadata?.uid, controller: true, blockOwnerDeletion: true }),
    ]);
    expect(pod.metadata?.labels?.["agents.x-k8s.io/sandbox-name-hash"]).toBe(nameHash("basic"));
    expect(pod.metadata?.labels?.["app"]).toBe("agent");
    expect(spec.runtimeClassName).toBe("gvisor");
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
    const main = spec.containers.find((c) => c.name === "main")!;
    expect(main.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } });
    expect(main.resources?.limits).toMatchObject({ cpu: "1", memory: "1Gi", "ephemeral-storage": "2Gi" });
    expect(main.resources?.requests).toMatchObject({ cpu: "100m", memory: "256Mi" });

    // A native sidecar: a restartable init container, which the API server accepts as such.
    expect(spec.containers.map((c) => c.name)).toEqual(["main"]);
    const execd = spec.initContainers?.find((c) => c.name === "sandbox-execd");
    if (!execd) throw new Error("the pod has no sandbox-execd init container");
    expect(execd.restartPolicy).toBe("Always");
    expect(execd.image).toBe("agent-sandbox/runtime:test");
    expect(execd.ports?.[0]?.containerPort).toBe(8888);
    // Bound to this Sandbox by uid and told the router's public key; no Secret is made or mounted.
    expect(execd.args).toEqual(
      expect.arrayContaining(["--sandbox", `${ns}/basic/${sandbox.metadata?.uid}`, "--trusted-key", execdTrustedKey]),
    );
    expect(spec.volumes?.some((v) => v.secret || v.projected)).toBe(false);
    expect(await gone("Secret", "basic-execd-token")).toBe(true);

    const service = await get<V1Service>("Service", "basic");
    expect(service.spec?.clusterIP).toBe("None");
    expect(service.spec?.selector).toEqual({ "agents.x-k8s.io/sandbox-name-hash": nameHash("basic") });
    expect(service.spec?.ports?.map((p) => p.port).sort()).toEqual([8888, 9000]);

    const np = await get<KubernetesObject & { spec: Record<string, unknown> }>("NetworkPolicy", "basic", "networking.k8s.io/v1");
    expect(np.spec).toMatchObject({
      podSelector: { matchLabels: { "agents.x-k8s.io/sandbox-name-hash": nameHash("basic") } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agent-sandbox-system" } },
              podSelector: { matchLabels: { app: "sandbox-router" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 8888 }],
        },
      ],
    });
    expect(np.spec["egress"]).toBeUndefined();

    const status = sandbox.status as Record<string, unknown>;
    expect(status["serviceFQDN"]).toBe(`basic.${ns}.svc.cluster.local`);
    expect(status["service"]).toBe("basic");
    expect(status["selector"]).toBe(`agents.x-k8s.io/sandbox-name-hash=${nameHash("basic")}`);
    expect((status["podIPs"] as string[]).length).toBeGreaterThan(0);
    expect(status["nodeName"]).toBeTruthy();
    // Exactly what upstream's own e2e suite expects of a running sandbox with a Service.
    expect(conditionsOf(sandbox)).toEqual([
      { type: "PodScheduled", status: "True", reason: "PodScheduled", message: "", observedGeneration: 1 },
      { type: "Ready", status: "True", reason: "DependenciesReady", message: "Pod is Ready; Service Exists", observedGeneration: 1 },
      { type: "Suspended", status: "False", reason: "NotSuspended", message: "Sandbox is not suspended", observedGeneration: 1 },
    ]);
  });

  it("keeps deliberate overrides of the defaults", async () => {
    await kube
      .create({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: "runc-test" }, handler: "runc" } as KubernetesObject)
      .catch(() => undefined);
    const manifest = sandboxManifest(ns, "custom") as KubernetesObject & { spec: { podTemplate: { spec: Record<string, unknown> } } };
    const podSpec = manifest.spec.podTemplate.spec;
    podSpec["runtimeClassName"] = "runc-test";
    podSpec["securityContext"] = { runAsUser: 4242, runAsNonRoot: true };
    (podSpec["containers"] as Record<string, unknown>[])[0]!["resources"] = { limits: { cpu: "2", memory: "3Gi" } };
    await kube.create(manifest);
    await readySandbox("custom");
    const pod = await get<V1Pod>("Pod", "custom");
    expect(pod.spec?.runtimeClassName).toBe("runc-test");
    expect(pod.spec?.securityContext?.runAsUser).toBe(4242);
    const main = pod.spec?.containers.find((c) => c.name === "main");
    expect(main?.resources?.limits).toEqual({ cpu: "2", memory: "3Gi" });
  });

  it("does not inject execd when a container already serves port 8888 (bring-your-own runtime)", async () => {
    const manifest = sandboxManifest(ns, "byo") as KubernetesObject & {
      spec: { podTemplate: { spec: { containers: { ports: unknown[] }[] } } };
    };
    manifest.spec.podTemplate.spec.containers[0]!.ports = [{ containerPort: 8888 }];
    await kube.create(manifest);
    await readySandbox("byo");
    const pod = await get<V1Pod>("Pod", "byo");
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(["main"]);
    expect(pod.spec?.initContainers ?? []).toEqual([]);
    expect(await gone("Secret", "byo-execd-token")).toBe(true);
  });
});

describe("lifecycle", () => {
  it("suspends by deleting the pod and resumes by recreating it", async () => {
    await kube.create(sandboxManifest(ns, "sleepy"));
    await readySandbox("sleepy");
    const firstPod = await get<V1Pod>("Pod", "sleepy");

    await kube.patch({ ...SB, namespace: ns, name: "sleepy" }, { spec: { operatingMode: "Suspended" } });
    const suspended = await waitFor(
      async () => {
        const s = await getSandbox("sleepy");
        return condition(s, "Suspended")?.status === "True" ? s : undefined;
      },
      { message: "Suspended=True" },
    );
    expect(conditionsOf(suspended)).toEqual([
      { type: "Ready", status: "False", reason: "SandboxSuspended", message: "Sandbox is suspended", observedGeneration: 2 },
      {
        type: "Suspended",
        status: "True",
        reason: "PodTerminated",
        message: "Pod has been terminated. Sandbox is suspended",
        observedGeneration: 2,
      },
    ]);
    expect((suspended.status as Record<string, unknown>)["podIPs"]).toBeUndefined();
    expect(await waitFor(() => gone("Pod", "sleepy"))).toBe(true);

    await kube.patch({ ...SB, namespace: ns, name: "sleepy" }, { spec: { operatingMode: "Running" } });
    const resumed = await readySandbox("sleepy");
    expect(condition(resumed, "Suspended")).toMatchObject({
      status: "False",
      reason: "NotSuspended",
      message: "Sandbox is not suspended",
      observedGeneration: 3,
    });
    const secondPod = await get<V1Pod>("Pod", "sleepy");
    expect(secondPod.metadata?.uid).not.toBe(firstPod.metadata?.uid);
  });

  it("reports a suspension in progress while its pod is terminating (upstream's PodTerminating)", async () => {
    // Off the fake node (kwok clears finalizers of the pods it runs), so the finalizer holds.
    await kube.create(sandboxManifest(ns, "lingering", { podTemplate: { spec: { containers: [{ name: "main", image: "x:1" }] } } }));
    await waitFor(() => get<V1Pod>("Pod", "lingering").catch(() => undefined), { message: "pod created" });
    const hold = "agents.x-k8s.io/test-hold";
    await kube.patch(
      { apiVersion: "v1", kind: "Pod", namespace: ns, name: "lingering" },
      { metadata: { finalizers: [hold] } },
      { type: "merge" },
    );
    await kube.patch({ ...SB, namespace: ns, name: "lingering" }, { spec: { operatingMode: "Suspended" } });
    const suspending = await waitFor(
      async () => {
        const sb = await getSandbox("lingering");
        return condition(sb, "Suspended")?.reason === "PodTerminating" ? sb : undefined;
      },
      { message: "Suspended PodTerminating" },
    );
    expect(conditionsOf(suspending)).toEqual([
      // The pod's own condition, verbatim (it cannot be scheduled: the fake node is tainted).
      { type: "PodScheduled", status: "False", reason: "Unschedulable", message: expect.any(String), observedGeneration: 2 },
      { type: "Ready", status: "False", reason: "SandboxSuspended", message: "Sandbox is suspending", observedGeneration: 2 },
      {
        type: "Suspended",
        status: "False",
        reason: "PodTerminating",
        message: "Pod is terminating. Sandbox is suspending",
        observedGeneration: 2,
      },
    ]);
    await kube.patch(
      { apiVersion: "v1", kind: "Pod", namespace: ns, name: "lingering" },
      { metadata: { finalizers: null } },
      { type: "merge" },
    );
    const suspended = await waitFor(
      async () => {
        const sb = await getSandbox("lingering");
        return condition(sb, "Suspended")?.status === "True" ? sb : undefined;
      },
      { message: "Suspended=True once the pod is gone" },
    );
    expect(conditionsOf(suspended).map((c) => c["type"])).toEqual(["Ready", "Suspended"]);
  });

  it("does not delete a pod it does not own when suspending, and says so", async () => {
    await kube.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "blocked", namespace: ns },
      spec: { containers: [{ name: "x", image: "x:1" }] },
    } as KubernetesObject);
    await kube.create(sandboxManifest(ns, "blocked", { operatingMode: "Suspended", service: true }));
    const s = await waitFor(
      async () => {
        const sb = await getSandbox("blocked");
        return condition(sb, "Suspended")?.reason === "PodNotOwned" ? sb : undefined;
      },
      { message: "Suspended PodNotOwned" },
    );
    expect(conditionsOf(s)).toEqual([
      { type: "Ready", status: "False", reason: "SandboxSuspended", message: "Sandbox is suspending", observedGeneration: 1 },
      {
        type: "Suspended",
        status: "False",
        reason: "PodNotOwned",
        message: "Refused to delete pod because it is not owned by this sandbox",
        observedGeneration: 1,
      },
    ]);
    expect((s.status as Record<string, unknown>)["selector"]).toBe(`agents.x-k8s.io/sandbox-name-hash=${nameHash("blocked")}`);
    const pod = await get<V1Pod>("Pod", "blocked");
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
  });

  it("expires at shutdownTime: Retain keeps the object, Delete removes it", async () => {
    const soon = new Date(Date.now() + 4_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    await kube.create(sandboxManifest(ns, "retained", { shutdownTime: soon, service: true }));
    await kube.create(sandboxManifest(ns, "deleted", { shutdownTime: soon, shutdownPolicy: "Delete" }));
    await readySandbox("retained");

    const expired = await waitFor(
      async () => {
        const s = await getSandbox("retained");
        return condition(s, "Ready")?.reason === "SandboxExpired" ? s : undefined;
      },
      { timeoutMs: 20_000, message: "retained sandbox expired" },
    );
    expect(condition(expired, "Ready")).toMatchObject({ status: "False", message: "Sandbox has expired" });
    expect(await waitFor(() => gone("Pod", "retained"))).toBe(true);
    expect(await waitFor(() => gone("Service", "retained"))).toBe(true);
    // As upstream: nothing but the conditions is left, PodScheduled among them no more.
    const retained = await getSandbox("retained");
    expect(Object.keys(retained.status ?? {})).toEqual(["conditions"]);
    expect(conditionsOf(retained).map((c) => c["type"])).toEqual(["Ready", "Suspended"]);
    expect(await waitFor(() => gone("Sandbox", "deleted", SB.apiVersion), { timeoutMs: 20_000 })).toBe(true);
  });
});

describe("drift and deletion", () => {
  it("recreates a deleted pod and network policy and repairs a changed service", async () => {
    await kube.create(sandboxManifest(ns, "drifty", { service: true }));
    await readySandbox("drifty");
    const pod = await get<V1Pod>("Pod", "drifty");

    await kube.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "drifty" }, { gracePeriodSeconds: 0 });
    await kube.delete({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespace: ns, name: "drifty" });
    await kube.patch({ apiVersion: "v1", kind: "Service", namespace: ns, name: "drifty" }, { spec: { selector: { hijacked: "yes" } } });

    await waitFor(
      async () => {
        const p = await get<V1Pod>("Pod", "drifty").catch(() => undefined);
        return p && p.metadata?.uid !== pod.metadata?.uid && !p.metadata?.deletionTimestamp;
      },
      { message: "pod recreated" },
    );
    await waitFor(() => get("NetworkPolicy", "drifty", "networking.k8s.io/v1"), { message: "policy recreated" });
    await waitFor(
      async () => {
        const s = await get<V1Service>("Service", "drifty");
        return s.spec?.selector?.["agents.x-k8s.io/sandbox-name-hash"] === nameHash("drifty") && s.spec.selector["hijacked"] === undefined;
      },
      { message: "service selector repaired" },
    );
  });

  it("drops a port someone added to the service and puts back a container image someone swapped", async () => {
    await kube.create(sandboxManifest(ns, "swapped", { service: true }));
    await readySandbox("swapped");
    // By hand, as another field manager: a merge patch replaces the ports list outright.
    const hand = new Kube(testKubeConfig(), { fieldManager: "kubectl-edit" });
    await hand.patch(
      { apiVersion: "v1", kind: "Service", namespace: ns, name: "swapped" },
      { spec: { ports: [{ name: "ssh", port: 2222, targetPort: 22, protocol: "TCP" }] } },
      { type: "merge" },
    );
    await hand.patch(
      { apiVersion: "v1", kind: "Pod", namespace: ns, name: "swapped" },
      { spec: { containers: [{ name: "main", image: "attacker/implant:latest" }] } },
      { type: "strategic" },
    );

    await waitFor(
      async () => {
        const s = await get<V1Service>("Service", "swapped");
        return (
          s.spec?.ports
            ?.map((p) => p.port)
            .sort()
            .join(",") === "8888,9000"
        );
      },
      { message: "service ports back to the pod's own" },
    );
    await waitFor(
      async () => {
        const p = await get<V1Pod>("Pod", "swapped");
        return p.spec?.containers.find((c) => c.name === "main")?.image === "agent-sandbox/runtime:test";
      },
      { message: "main container image restored" },
    );
  });

  it("puts off relabelling a pod while claims wait, for a bounded while, but never the labels that select it", async () => {
    await kube.create(sandboxManifest(ns, "relabel"));
    await readySandbox("relabel");
    // Stands in for the claim controller's queue: claims wait until the test says otherwise.
    let claimsWaiting = true;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    operator.deps.claimsFirst.attach({ idle: () => !claimsWaiting, whenIdle: () => (claimsWaiting ? released : Promise.resolve()) });
    try {
      const launchType = "agents.x-k8s.io/launch-type";
      const sent = Date.now();
      await kube.patch({ ...SB, namespace: ns, name: "relabel" }, { metadata: { labels: { [launchType]: "warm" } } }, { type: "merge" });
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await get<V1Pod>("Pod", "relabel")).metadata?.labels?.[launchType]).toBeUndefined();
      // Claims never stop waiting here, so only the bound lets the label through.
      await waitFor(async () => (await get<V1Pod>("Pod", "relabel")).metadata?.labels?.[launchType] === "warm", {
        timeoutMs: 25_000,
        message: "label copied once the hold ran out",
      });
      expect(Date.now() - sent).toBeGreaterThanOrEqual(9_000);

      // A label the Service and NetworkPolicy select the pod by is put back at once, claims or not.
      const hashLabel = "agents.x-k8s.io/sandbox-name-hash";
      const hand = new Kube(testKubeConfig(), { fieldManager: "kubectl-edit" });
      await hand.patch(
        { apiVersion: "v1", kind: "Pod", namespace: ns, name: "relabel" },
        { metadata: { labels: { [hashLabel]: null } } },
        { type: "merge" },
      );
      await waitFor(async () => (await get<V1Pod>("Pod", "relabel")).metadata?.labels?.[hashLabel] === nameHash("relabel"), {
        timeoutMs: 5_000,
        message: "selector label restored while claims wait",
      });
    } finally {
      claimsWaiting = false;
      release();
    }
  });

  it("reports a name clash with a pod it does not own instead of taking it over", async () => {
    await kube.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "squatted", namespace: ns },
      spec: { containers: [{ name: "x", image: "x:1" }] },
    } as KubernetesObject);
    await kube.create(sandboxManifest(ns, "squatted"));
    const s = await waitFor(
      async () => {
        const sb = await getSandbox("squatted");
        return condition(sb, "Ready")?.reason === "ReconcilerError" ? sb : undefined;
      },
      { message: "ReconcilerError reported" },
    );
    expect(condition(s, "Ready")?.message).toContain("not controlled by this Sandbox");
    await waitFor(
      async () => {
        const events = await kube.list<KubernetesObject & { reason?: string; type?: string; regarding?: { name?: string; kind?: string } }>(
          { apiVersion: "events.k8s.io/v1", kind: "Event" },
          { namespace: ns },
        );
        return events.items.some(
          (e) =>
            e.regarding?.kind === "Sandbox" && e.regarding.name === "squatted" && e.reason === "ReconcilerError" && e.type === "Warning",
        );
      },
      { message: "Warning event on the Sandbox" },
    );
    const pod = await get<V1Pod>("Pod", "squatted");
    expect(pod.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it("garbage-collects every child when the Sandbox is deleted", async () => {
    await kube.create(sandboxManifest(ns, "doomed", { service: true }));
    await readySandbox("doomed");
    await kube.delete({ ...SB, namespace: ns, name: "doomed" });
    for (const [kind, name, apiVersion] of [
      ["Pod", "doomed", "v1"],
      ["Service", "doomed", "v1"],
      ["NetworkPolicy", "doomed", "networking.k8s.io/v1"],
    ] as const) {
      expect(await waitFor(() => gone(kind, name, apiVersion), { timeoutMs: 30_000, message: `${kind} ${name} collected` })).toBe(true);
    }
  });
});
