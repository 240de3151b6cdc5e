// POST /v1/sandboxes/{id}/suspend and /resume against the real API server (RBAC, SubjectAccessReview)
// and the real operator: what the router writes is read back from the API server, and the
// operator's answer (the pod deleted, a new one started) is observed there too. Execution servers
// as in proxy.test.ts.
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { poolManifest, startOperator, templateManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { call, poolReady, type Obj } from "./helpers.js";
import { grantSandboxSuspend, grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

interface View {
  id: string;
  namespace: string;
  state: string;
  sandboxName?: string;
  podIPs?: string[];
  token?: string;
  error?: { code: string; message: string; reason?: string };
}

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
/** A sandbox user who may also patch Sandboxes (suspend / resume). */
let alice: string;
/** A sandbox user without patch on Sandboxes. */
let bob: string;
/** No grants at all. */
let carol: string;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("router-suspend");
  await grantSandboxUser(kube, ns, "alice");
  await grantSandboxSuspend(kube, ns, "alice");
  await grantSandboxUser(kube, ns, "bob");
  alice = userToken("alice");
  bob = userToken("bob");
  carol = userToken("carol");
  await kube.create(templateManifest(ns, "python"));
  await kube.create(poolManifest(ns, "python-pool", "python", 2));
  await poolReady(kube, ns, "python-pool", 2);
  await waitFor(() => router.router.caches.pools.get(ns, "python-pool")?.status?.readyReplicas === 2, { message: "router sees the pool" });
}, 300_000);

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

const api = (path: string) => `${router.url}/v1/sandboxes${path}?namespace=${ns}`;

async function createRunning(): Promise<View & { sandboxName: string }> {
  const created = await call<View>(api(""), { token: alice, body: { warmPool: "python-pool" } });
  expect(created.status).toBe(201);
  expect(created.body.sandboxName).toBeTruthy();
  return { ...created.body, sandboxName: created.body.sandboxName ?? "" };
}

const sandboxOf = (name: string) => kube.get<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name });
const operatingModeOf = async (name: string) => (await sandboxOf(name)).spec?.["operatingMode"];
const podOf = (name: string) => kube.getOrUndefined<KubernetesObject>({ apiVersion: "v1", kind: "Pod", namespace: ns, name });

describe("suspend and resume", () => {
  it("suspends: spec.operatingMode Suspended on the bound Sandbox, its pod deleted, calls refused; again is fine", async () => {
    const sb = await createRunning();
    // A warm sandbox: the claim's Sandbox has another name, and that one is patched.
    expect(sb.sandboxName).not.toBe(sb.id);
    const pod = await podOf(sb.sandboxName);
    expect(pod).toBeDefined();

    const suspended = await call<View>(api(`/${sb.id}/suspend`), { token: alice, method: "POST" });
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ id: sb.id, namespace: ns, sandboxName: sb.sandboxName, state: "suspended" });
    expect(await operatingModeOf(sb.sandboxName)).toBe("Suspended");
    // The router wrote it with its own field manager.
    const managers = (await sandboxOf(sb.sandboxName)).metadata?.managedFields?.map((f) => f.manager);
    expect(managers).toContain("agent-sandbox-ts-router");
    await waitFor(async () => (await podOf(sb.sandboxName))?.metadata?.uid !== pod?.metadata?.uid, { message: "pod deleted" });

    const got = await call<View>(api(`/${sb.id}`), { token: alice });
    expect(got.body.state).toBe("suspended");
    const exec = await call<View>(api(`/${sb.id}/execute`), { token: alice, body: { code: "1" } });
    expect(exec.status).toBe(503);
    expect(exec.body.error?.reason).toBe("SandboxSuspended");

    // Idempotent, and an empty JSON object is a body it takes.
    const again = await call<View>(api(`/${sb.id}/suspend`), { token: alice, body: {} });
    expect(again.status).toBe(200);
    expect(again.body.state).toBe("suspended");
    expect(await operatingModeOf(sb.sandboxName)).toBe("Suspended");
  });

  it("resumes: spec.operatingMode Running, a new pod, and the sandbox runs code again", async () => {
    const sb = await createRunning();
    const oldPod = await podOf(sb.sandboxName);
    const oldIP = sb.podIPs?.[0] ?? "";
    expect((await call(api(`/${sb.id}/suspend`), { token: alice, method: "POST" })).status).toBe(200);
    // Stands in for the old pod's end on the simulated pod network (its execution server stops).
    await router.network.retire(ns, sb.sandboxName, oldIP);
    await waitFor(async () => (await podOf(sb.sandboxName))?.metadata?.uid !== oldPod?.metadata?.uid, { message: "pod deleted" });

    const resumed = await call<View>(api(`/${sb.id}/resume`), { token: alice, method: "POST" });
    expect(resumed.status).toBe(200);
    // The state it answers may still be the previous one (the caches are waited on for 2 s at most).
    expect(resumed.body).toMatchObject({ id: sb.id, sandboxName: sb.sandboxName });
    expect(await operatingModeOf(sb.sandboxName)).toBe("Running");

    await waitFor(async () => (await call<View>(api(`/${sb.id}`), { token: alice })).body.state === "running", {
      timeoutMs: 60_000,
      message: "running again",
    });
    const newPod = await podOf(sb.sandboxName);
    expect(newPod?.metadata?.uid).toBeTruthy();
    expect(newPod?.metadata?.uid).not.toBe(oldPod?.metadata?.uid);
    const ran = await call<{ stdout: string }>(api(`/${sb.id}/execute`), { token: alice, body: { code: "print(6 * 7)" } });
    expect(ran.status).toBe(200);
    expect(ran.body.stdout).toBe("42\n");

    // Resuming a running sandbox is fine too.
    const again = await call<View>(api(`/${sb.id}/resume`), { token: alice, body: {} });
    expect(again.status).toBe(200);
    expect(again.body.state).toBe("running");
  });

  it("answers 404 for an unknown id", async () => {
    for (const action of ["suspend", "resume"]) {
      const r = await call<View>(api(`/sbx-does-not-exist/${action}`), { token: alice, method: "POST" });
      expect(r.status).toBe(404);
      expect(r.body.error?.code).toBe("not_found");
    }
  });

  it("answers 409 not_bound, naming the claim, for a claim that has no Sandbox", async () => {
    // A claim on a pool that does not exist is never given a Sandbox (WarmPoolNotFound).
    await kube.create({
      apiVersion: "extensions.agents.x-k8s.io/v1beta1",
      kind: "SandboxClaim",
      metadata: { name: "unbound", namespace: ns },
      spec: { warmPoolRef: { name: "no-such-pool" } },
    } as KubernetesObject);
    await waitFor(() => router.router.caches.claims.get(ns, "unbound"), { message: "router sees the claim" });
    for (const action of ["suspend", "resume"]) {
      const r = await call<View>(api(`/unbound/${action}`), { token: alice, method: "POST" });
      expect(r.status).toBe(409);
      expect(r.body.error?.code).toBe("not_bound");
      expect(r.body.error?.message).toContain('"unbound"');
    }
  });

  it("answers 403 to a caller without patch on the Sandbox (and 401 without a token); nothing is written", async () => {
    const sb = await createRunning();
    // bob may read, run and delete the claim (a sandbox user), but not patch Sandboxes.
    expect((await call(api(`/${sb.id}`), { token: bob })).status).toBe(200);
    for (const action of ["suspend", "resume"]) {
      const denied = await call<View>(api(`/${sb.id}/${action}`), { token: bob, method: "POST" });
      expect(denied.status).toBe(403);
      expect(denied.body.error?.message).toContain("patch sandboxes.agents.x-k8s.io");
      expect((await call(api(`/${sb.id}/${action}`), { token: carol, method: "POST" })).status).toBe(403);
      expect((await call(api(`/${sb.id}/${action}`), { method: "POST" })).status).toBe(401);
    }
    expect(await operatingModeOf(sb.sandboxName)).not.toBe("Suspended");
  });

  it("answers 400 for any body but an empty object", async () => {
    const sb = await createRunning();
    for (const body of [{ operatingMode: "Suspended" }, [], "null", "{not json"]) {
      const r = await call<View>(api(`/${sb.id}/suspend`), { token: alice, body });
      expect(r.status).toBe(400);
      expect(r.body.error?.code).toBe("bad_request");
    }
    expect(await operatingModeOf(sb.sandboxName)).not.toBe("Suspended");
  });

  it("lets a sandbox token suspend and resume its own sandbox, and no other", async () => {
    const own = await createRunning();
    const other = await createRunning();
    const token = own.token ?? "";
    const suspended = await call<View>(api(`/${own.id}/suspend`), { token, method: "POST" });
    expect(suspended.status).toBe(200);
    expect(suspended.body.state).toBe("suspended");
    expect(await operatingModeOf(own.sandboxName)).toBe("Suspended");
    expect((await call(api(`/${other.id}/suspend`), { token, method: "POST" })).status).toBe(403);
    expect(await operatingModeOf(other.sandboxName)).not.toBe("Suspended");
    const resumed = await call<View>(api(`/${own.id}/resume`), { token, method: "POST" });
    expect(resumed.status).toBe(200);
    expect(await operatingModeOf(own.sandboxName)).toBe("Running");
  });
});
