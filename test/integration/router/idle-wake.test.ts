// Idle suspension and wake on request, against the real API server with the real operator and
// router: a sandbox no call reaches for its idle timeout is suspended by the operator, calls
// keep it awake, and a plain execute through the router resumes it and is answered. Execution
// servers as in proxy.test.ts (the simulated pod network: a new pod gets a new server).
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { poolManifest, sandboxManifest, startOperator, templateManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { call, poolReady, type Obj } from "./helpers.js";
import { grantSandboxSuspend, grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

interface View {
  id: string;
  state: string;
  sandboxName?: string;
  podIPs?: string[];
  error?: { code: string; message: string; reason?: string };
}

const IDLE_TIMEOUT_S = 4;

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let alice: string;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  // Activity written at least every second, so the test's calls show within its idle timeout.
  router = await startRouter({ activityWriteIntervalMs: 1_000 });
  ns = await freshNamespace("router-idle");
  await grantSandboxUser(kube, ns, "alice");
  await grantSandboxSuspend(kube, ns, "alice");
  alice = userToken("alice");
  const template = templateManifest(ns, "idle");
  template.metadata = { ...template.metadata, annotations: { "agents.x-k8s.io/idle-timeout": `${IDLE_TIMEOUT_S}s` } };
  await kube.create(template);
  await kube.create(poolManifest(ns, "idle-pool", "idle", 2));
  await poolReady(kube, ns, "idle-pool", 2);
  await waitFor(() => router.router.caches.pools.get(ns, "idle-pool")?.status?.readyReplicas === 2, { message: "router sees the pool" });
}, 300_000);

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

const api = (path: string) => `${router.url}/v1/sandboxes${path}?namespace=${ns}`;
const sandboxOf = (name: string) => kube.get<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name });
const podOf = (name: string) => kube.getOrUndefined<KubernetesObject>({ apiVersion: "v1", kind: "Pod", namespace: ns, name });
const annotationsOf = async (name: string) => (await sandboxOf(name)).metadata?.annotations ?? {};

async function createRunning(): Promise<View & { sandboxName: string }> {
  const created = await call<View>(api(""), { token: alice, body: { warmPool: "idle-pool" } });
  expect(created.status).toBe(201);
  return { ...created.body, sandboxName: created.body.sandboxName ?? "" };
}

describe("idle suspension and wake on request", () => {
  it("suspends a claimed sandbox no call reaches; a plain execute resumes it, once for concurrent calls", async () => {
    const sb = await createRunning();
    const oldPod = await podOf(sb.sandboxName);
    // The member took the template's timeout at creation and started its idle count when adopted.
    const adopted = await annotationsOf(sb.sandboxName);
    expect(adopted["agents.x-k8s.io/idle-timeout"]).toBe(`${IDLE_TIMEOUT_S}s`);
    expect(Date.parse(adopted["agents.x-k8s.io/last-activity"] ?? "")).toBeGreaterThan(Date.now() - 60_000);

    const first = await call<{ stdout: string }>(api(`/${sb.id}/execute`), { token: alice, body: { code: "print(1 + 1)" } });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-sandbox-resumed")).toBeNull();

    const suspended = await waitFor(
      async () => {
        const s = await sandboxOf(sb.sandboxName);
        return s.spec?.["operatingMode"] === "Suspended" ? s : undefined;
      },
      { timeoutMs: 30_000, message: "suspended for idleness" },
    );
    expect(suspended.metadata?.annotations?.["agents.x-k8s.io/idle-suspended-at"]).toBeTruthy();
    await waitFor(async () => (await podOf(sb.sandboxName))?.metadata?.uid !== oldPod?.metadata?.uid, { message: "pod deleted" });
    await router.network.retire(ns, sb.sandboxName, sb.podIPs?.[0] ?? "");
    const viewed = await call<View>(api(`/${sb.id}`), { token: alice });
    expect(viewed.body.state).toBe("suspended");

    // A caller who may not run code in it wakes nothing.
    const resumesBefore = await router.metric("sandbox_router_resumes_total");
    const stranger = await call<View>(api(`/${sb.id}/execute`), { token: userToken("carol"), body: { code: "1" } });
    expect(stranger.status).toBe(403);
    expect(await router.metric("sandbox_router_resumes_total")).toBe(resumesBefore);
    expect((await sandboxOf(sb.sandboxName)).spec?.["operatingMode"]).toBe("Suspended");

    const calls = await Promise.all(
      [3, 4, 5].map((n) => call<{ stdout: string }>(api(`/${sb.id}/execute`), { token: alice, body: { code: `print(${n} * 2)` } })),
    );
    expect(calls.map((c) => c.status)).toEqual([200, 200, 200]);
    expect(calls.map((c) => c.body.stdout)).toEqual(["6\n", "8\n", "10\n"]);
    expect(calls.map((c) => c.headers.get("x-sandbox-resumed"))).toEqual(["true", "true", "true"]);
    expect((await router.metric("sandbox_router_resumes_total")) - resumesBefore).toBe(1);

    const resumed = await sandboxOf(sb.sandboxName);
    expect(resumed.spec?.["operatingMode"]).toBe("Running");
    expect(resumed.metadata?.annotations?.["agents.x-k8s.io/idle-suspended-at"]).toBeUndefined();
    const newPod = await podOf(sb.sandboxName);
    expect(newPod?.metadata?.uid).not.toBe(oldPod?.metadata?.uid);
    // The new pod's execution server tells the first call on each context that its state is gone.
    const sidecar = (newPod as { spec?: { initContainers?: Array<{ name: string; args?: string[] }> } }).spec?.initContainers?.find(
      (c) => c.name === "sandbox-execd",
    );
    const args = sidecar?.args ?? [];
    expect(args).toContain("--restart-notice");
    expect(args[args.indexOf("--restart-notice") + 1]).toContain("the sandbox was suspended");
  });

  it("wakes a sandbox suspended for idleness when a Kubernetes-mode client asks for its execution token", async () => {
    const sb = await createRunning();
    await waitFor(async () => ((await sandboxOf(sb.sandboxName)).spec?.["operatingMode"] === "Suspended" ? true : undefined), {
      timeoutMs: 30_000,
      message: "suspended for idleness",
    });
    const issued = await call<{ podIP: string; token: string }>(api(`/${sb.id}/execd-token`), { token: alice, body: {} });
    expect(issued.status).toBe(200);
    expect(issued.headers.get("x-sandbox-resumed")).toBe("true");
    expect(issued.body.token).toBeTruthy();
    expect((await sandboxOf(sb.sandboxName)).spec?.["operatingMode"]).toBe("Running");
  });

  it("calls keep a sandbox awake past its idle timeout", async () => {
    const sb = await createRunning();
    const until = Date.now() + (IDLE_TIMEOUT_S + 4) * 1000;
    while (Date.now() < until) {
      const r = await call(api(`/${sb.id}/execute`), { token: alice, body: { code: "1" } });
      expect(r.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    const s = await sandboxOf(sb.sandboxName);
    expect(s.spec?.["operatingMode"]).toBe("Running");
    expect(Date.parse(s.metadata?.annotations?.["agents.x-k8s.io/last-activity"] ?? "")).toBeGreaterThan(Date.now() - 3_000);
  });

  it("suspends a Sandbox made by hand with an idle timeout, counting from when it turned Ready", async () => {
    const manual = sandboxManifest(ns, "by-hand");
    manual.metadata = { ...manual.metadata, annotations: { "agents.x-k8s.io/idle-timeout": `${IDLE_TIMEOUT_S}s` } };
    await kube.create(manual);
    const readyAt = await waitFor(
      async () =>
        (await sandboxOf("by-hand")).status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? Date.now() : undefined,
      { timeoutMs: 60_000, message: "Ready" },
    );
    await waitFor(async () => ((await sandboxOf("by-hand")).spec?.["operatingMode"] === "Suspended" ? true : undefined), {
      timeoutMs: 30_000,
      message: "suspended for idleness",
    });
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual((IDLE_TIMEOUT_S - 1) * 1000);
  });

  it("leaves a sandbox suspended on purpose suspended: a call is answered 503 and resumes nothing", async () => {
    const sb = await createRunning();
    expect((await call(api(`/${sb.id}/suspend`), { token: alice, method: "POST" })).status).toBe(200);
    const resumesBefore = await router.metric("sandbox_router_resumes_total");
    const r = await call<View>(api(`/${sb.id}/execute`), { token: alice, body: { code: "1" } });
    expect(r.status).toBe(503);
    expect(r.body.error?.reason).toBe("SandboxSuspended");
    expect(await router.metric("sandbox_router_resumes_total")).toBe(resumesBefore);
    expect((await sandboxOf(sb.sandboxName)).spec?.["operatingMode"]).toBe("Suspended");
  });
});
