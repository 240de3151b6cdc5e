// The router answers at once, from its informers, for a sandbox that died or was deleted (503
// naming the status reason), including a call already in flight to it, and waits briefly, then
// sends the call once more, for a sandbox whose pod is being recreated. Real API server, operator
// and execution servers (see router-fixture.ts for the simulated pod network).
//
// A sandbox killed under gVisor leaves the router's connection open and silent; here that is a
// SIGSTOPped execution server. The times printed are the figures this file measures; only the
// statuses and reasons are asserted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { sandboxManifest, startOperator, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, markPodReady, testKube, testKubeConfig, userToken, waitFor } from "../harness/cluster.js";
import { call, readyCondition, sandboxReady, type Obj } from "./helpers.js";
import { grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

const SB = "agents.x-k8s.io/v1beta1";

let kube: Kube;
let operator: RunningOperator;
/** Default settings: the figures are measured here. */
let router: RunningRouter;
/** Generous waits, so a slow machine cannot turn the restart tests into timing tests. */
let patient: RunningRouter;
let ns: string;
let alice: string;

type Answer = { stdout?: string; error?: { code: string; message: string; reason?: string } };

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  patient = await startRouter({ resolveWaitMs: 15_000, restartWaitMs: 60_000 });
  ns = await freshNamespace("router-fail-fast");
  await grantSandboxUser(kube, ns, "alice");
  alice = userToken("alice");
});

afterAll(async () => {
  await patient?.stop();
  await router?.stop();
  await operator?.stop();
});

const secondsSince = (t: number): string => ((performance.now() - t) / 1000).toFixed(2);

function exec(r: RunningRouter, id: string, command: string, headers: Record<string, string> = {}) {
  return call<Answer>(`${r.url}/execute`, {
    token: alice,
    headers: { "x-sandbox-id": id, "x-sandbox-namespace": ns, ...headers },
    body: { command },
  });
}

async function served(r: RunningRouter, name: string): Promise<Obj> {
  const s = await sandboxReady(kube, ns, name);
  const ip = s.status?.podIPs?.[0];
  await waitFor(() => r.router.caches.sandboxes.get(ns, name)?.status?.podIPs?.[0] === ip, { message: `router serves ${name}` });
  return s;
}

/**
 * A Sandbox whose pod nothing schedules (no toleration for the fake node): the test plays its
 * kubelet, so a deleted pod's replacement stays Pending, without an address, until runPod.
 */
async function handRunSandbox(r: RunningRouter, name: string, podIP: string): Promise<Obj> {
  await kube.create(
    sandboxManifest(ns, name, { podTemplate: { spec: { containers: [{ name: "main", image: "x", command: ["sleep", "infinity"] }] } } }),
  );
  await runPod(name, podIP, undefined);
  return served(r, name);
}

/** Waits for the sandbox's pod (another one than `notUid`) and reports it Running and Ready at `podIP`. */
async function runPod(name: string, podIP: string, notUid: string | undefined): Promise<void> {
  await waitFor(
    async () => {
      const pod = await kube.getOrUndefined({ apiVersion: "v1", kind: "Pod", namespace: ns, name });
      return pod && pod.metadata?.uid !== notUid && !pod.metadata?.deletionTimestamp ? pod : undefined;
    },
    { message: `pod ${name} created` },
  );
  await markPodReady(testKubeConfig(), ns, name, { podIP });
}

async function podUid(name: string): Promise<string> {
  return (await kube.get({ apiVersion: "v1", kind: "Pod", namespace: ns, name })).metadata?.uid ?? "";
}

/** Starts a long call on `name` and resolves once its execution server has it, then silences that server. */
async function callThenSilence(r: RunningRouter, s: Obj, name: string) {
  const podIP = s.status?.podIPs?.[0] ?? "";
  const execd = await r.network.execdFor(ns, name, podIP);
  const before = r.network.dials.length;
  const answer = exec(r, name, "sleep 60", { "x-sandbox-timeout": "30" });
  await waitFor(() => r.network.dials.length > before, { message: "call dialled" });
  await new Promise((resolve) => setTimeout(resolve, 500));
  execd.child.kill("SIGSTOP");
  return { answer, resume: () => execd.child.kill("SIGCONT") };
}

describe("a sandbox that died", () => {
  it("ends a call in flight with 503 and the Sandbox's Ready reason as soon as its pod fails", async () => {
    const s = await handRunSandbox(router, "evicted", "10.88.1.1");
    const { answer, resume } = await callThenSilence(router, s, "evicted");
    try {
      const failedAt = performance.now();
      await kube.patch(
        { apiVersion: "v1", kind: "Pod", namespace: ns, name: "evicted" },
        { status: { phase: "Failed", reason: "Evicted", message: "The node was low on resource: ephemeral-storage." } },
        { type: "strategic", subresource: "status" },
      );
      const res = await answer;
      console.log(
        `fail-fast: call in flight on a pod that failed: ${res.status} ${res.body.error?.code ?? ""} ${secondsSince(failedAt)} s after the pod failed`,
      );
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: "sandbox_lost", reason: "PodFailed" });
      expect(res.body.error?.message).toContain("Evicted: The node was low on resource");
    } finally {
      resume();
    }
  });

  it("answers a new call on the failed sandbox with 503 at once, naming the reason and message", async () => {
    await waitFor(() => readyCondition(router.router.caches.sandboxes.get(ns, "evicted") as Obj)?.reason === "PodFailed", {
      message: "router sees PodFailed",
    });
    const started = performance.now();
    const res = await exec(router, "evicted", "echo hi");
    console.log(`fail-fast: new call on a failed sandbox: ${res.status} ${res.body.error?.code ?? ""} in ${secondsSince(started)} s`);
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: "not_ready", reason: "PodFailed" });
    expect(res.body.error?.message).toContain("sandbox evicted is not ready: Pod failed (Evicted: The node was low on resource");
  });

  it("ends a call in flight with 503 when the Sandbox is deleted", async () => {
    await kube.create(sandboxManifest(ns, "doomed"));
    const s = await served(router, "doomed");
    const { answer, resume } = await callThenSilence(router, s, "doomed");
    try {
      const deletedAt = performance.now();
      await kube.delete({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: "doomed" });
      const res = await answer;
      console.log(
        `fail-fast: call in flight on a deleted sandbox: ${res.status} ${res.body.error?.code ?? ""} (${res.body.error?.reason ?? ""}) ${secondsSince(deletedAt)} s after the delete`,
      );
      expect(res.status).toBe(503);
      expect(res.body.error?.code).toBe("sandbox_lost");
      expect(["NotFound", "SandboxDeleting"]).toContain(res.body.error?.reason);
    } finally {
      resume();
    }
  });

  it("ends a call in flight with 503 when its pod is deleted (the Sandbox gets a new one)", async () => {
    const s = await handRunSandbox(router, "repodded", "10.88.1.2");
    const { answer, resume } = await callThenSilence(router, s, "repodded");
    try {
      const deletedAt = performance.now();
      await kube.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "repodded" }, { gracePeriodSeconds: 0 });
      const res = await answer;
      console.log(
        `fail-fast: call in flight on a deleted pod: ${res.status} ${res.body.error?.code ?? ""} (${res.body.error?.reason ?? ""}) ${secondsSince(deletedAt)} s after the delete`,
      );
      expect(res.status).toBe(503);
      expect(res.body.error?.code).toBe("sandbox_lost");
      expect(res.body.error?.message).toContain("is gone");
    } finally {
      resume();
    }
  });

  it("lets a call run on when the Sandbox turns not Ready but its pod still accepts connections", async () => {
    await handRunSandbox(router, "busy", "10.88.1.3");
    const answer = exec(router, "busy", "sleep 3; echo finished");
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Its readiness probe failed (as one can under load); same pod, same address.
    await markPodReady(testKubeConfig(), ns, "busy", { podIP: "10.88.1.3", ready: false });
    await waitFor(() => readyCondition(router.router.caches.sandboxes.get(ns, "busy") as Obj)?.status === "False", {
      message: "router sees busy not Ready",
    });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body.stdout).toBe("finished\n");
  });
});

describe("a sandbox whose pod is being recreated", () => {
  it("holds a call made while the caches show the pod gone until the new pod serves it", async () => {
    await handRunSandbox(patient, "phoenix", "10.88.2.1");
    const oldPod = await podUid("phoenix");
    await patient.network.retire(ns, "phoenix", "10.88.2.1");
    await kube.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "phoenix" }, { gracePeriodSeconds: 0 });
    await waitFor(() => !patient.router.caches.sandboxes.get(ns, "phoenix")?.status?.podIPs?.length, {
      message: "router sees the pod gone",
    });
    const started = performance.now();
    const answer = exec(patient, "phoenix", "echo back");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await runPod("phoenix", "10.88.2.2", oldPod);
    const res = await answer;
    console.log(
      `fail-fast: call made while the pod was gone, the new pod Ready 0.5 s later: ${res.status} after ${secondsSince(started)} s`,
    );
    expect(res.status).toBe(200);
    expect(res.body.stdout).toBe("back\n");
  });

  it("sends a call the old pod refused once more, to the new pod, when the caches learn of the restart", async () => {
    await handRunSandbox(patient, "lazarus", "10.88.3.1");
    const oldPod = await podUid("lazarus");
    await patient.network.retire(ns, "lazarus", "10.88.3.1");
    const before = patient.network.dials.length;
    const answer = exec(patient, "lazarus", "echo again");
    // The refusal comes first (the caches still show the old pod Ready); then the pod goes and a new one comes.
    await waitFor(() => patient.network.dials.length > before, { message: "first dial" });
    await kube.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "lazarus" }, { gracePeriodSeconds: 0 });
    await runPod("lazarus", "10.88.3.2", oldPod);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body.stdout).toBe("again\n");
    expect(patient.network.dials.slice(before).map((d) => d.podIP)).toEqual(["10.88.3.1", "10.88.3.2"]);
  });

  it("lets the refusal stand (503) when the caches still show the pod Ready there", async () => {
    // Nothing in the caches says the sandbox restarts: the refusal stands (503) after the cache wait.
    await handRunSandbox(router, "stubborn", "10.88.4.1");
    await router.network.retire(ns, "stubborn", "10.88.4.1");
    const res = await exec(router, "stubborn", "echo x");
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe("upstream_unavailable");
  });
});
