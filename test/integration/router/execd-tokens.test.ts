// The router reaches each execution server with a token it signs for that very sandbox, and a
// token for one sandbox opens no other. Execution servers are started as the operator's sidecar
// would be (router-fixture.ts: the pod's --sandbox and --trusted-key), so this checks the
// operator's pod spec and the router's signing together. No Secret is read by anyone.
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecdTokenAnswer } from "../../../src/shared/sandbox/execd-token-answer.js";
import type { Kube } from "../../../src/runtime/index.js";
import { sandboxManifest, startOperator, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { call, sandboxReady, type Obj } from "./helpers.js";
import { grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let alice: string;
const sandboxes: Record<"a" | "b", Obj> = {} as Record<"a" | "b", Obj>;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("execd-tokens");
  await grantSandboxUser(kube, ns, "alice");
  alice = userToken("alice");
  for (const name of ["a", "b"] as const) {
    await kube.create(sandboxManifest(ns, name));
    sandboxes[name] = await sandboxReady(kube, ns, name);
    await waitFor(() => router.router.caches.sandboxes.get(ns, name)?.status?.podIPs?.length, { message: `router serves ${name}` });
  }
});

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

const podIP = (name: "a" | "b"): string => sandboxes[name].status?.podIPs?.[0] ?? "";

async function issued(name: string, token = alice): Promise<{ status: number; body: ExecdTokenAnswer & { error?: { code: string } } }> {
  return call(`${router.url}/v1/sandboxes/${name}/execd-token?namespace=${ns}`, { token, body: {} });
}

/** Calls sandbox `name`'s execution server directly (bypassing the router) with `token`. */
async function direct(name: "a" | "b", token: string): Promise<number> {
  const execd = await router.network.execdFor(ns, name, podIP(name));
  const res = await fetch(`${execd.url}/v1/contexts`, { headers: { authorization: `Bearer ${token}` } });
  await res.body?.cancel();
  return res.status;
}

describe("execution-server tokens signed by the router", () => {
  it("reach each sandbox through the router", async () => {
    for (const name of ["a", "b"]) {
      const res = await call<{ stdout: string }>(`${router.url}/sandboxes/${ns}/${name}/v1/execute`, {
        token: alice,
        body: { language: "bash", code: `echo ${name}` },
      });
      expect(res.status, name).toBe(200);
      expect(res.body.stdout).toBe(`${name}\n`);
    }
  });

  it("are issued to a caller allowed to run code, bound to the sandbox's uid, and open that sandbox only", async () => {
    const a = await issued("a");
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({
      id: "a",
      namespace: ns,
      sandbox: { name: "a", uid: sandboxes.a.metadata?.uid },
      podIP: podIP("a"),
      port: 8888,
    });
    expect(Date.parse(a.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const b = await issued("b");
    expect(await direct("a", a.body.token)).toBe(200);
    expect(await direct("b", b.body.token)).toBe(200);
    // A's token at B, and B's at A: refused by the execution server itself.
    expect(await direct("b", a.body.token)).toBe(401);
    expect(await direct("a", b.body.token)).toBe(401);
  });

  it("are not issued to a caller without exec rights there, nor for a sandbox token", async () => {
    expect((await issued("a", userToken("bob"))).status).toBe(403);
    const minted = await call<{ token: string }>(`${router.url}/v1/sandboxes/a/token?namespace=${ns}`, { token: alice, body: {} });
    expect(minted.status).toBe(200);
    expect((await issued("a", minted.body.token)).status).toBe(403);
    expect((await issued("a", "")).status).toBe(401);
  });

  it("signed with another key are refused, and the router answers 502 naming the key", async () => {
    const stranger = await startRouter({}, { execdSigningKey: generateKeyPairSync("ed25519").privateKey });
    try {
      await waitFor(() => stranger.router.caches.sandboxes.get(ns, "a")?.status?.podIPs?.length, { message: "second router serves a" });
      const res = await call<{ error: { code: string; message: string } }>(`${stranger.url}/sandboxes/${ns}/a/v1/contexts`, {
        token: alice,
      });
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({ code: "upstream_auth" });
      expect(res.body.error.message).toContain("signing key");
      const other = await call<ExecdTokenAnswer>(`${stranger.url}/v1/sandboxes/a/execd-token?namespace=${ns}`, { token: alice, body: {} });
      expect(await direct("a", other.body.token)).toBe(401);
    } finally {
      await stranger.stop();
    }
  });
});
