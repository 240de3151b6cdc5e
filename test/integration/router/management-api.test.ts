// The management API (create / get / list / delete / execute, tokens, warm pools) and the TTL
// rules, against the real API server and operator; execution servers as in proxy.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { RouterKeys } from "../../../src/api/index.js";
import { poolManifest, startOperator, templateManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { call, getClaim, poolReady } from "./helpers.js";
import { grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

interface View {
  id: string;
  namespace: string;
  state: string;
  warmPool: string;
  template?: string;
  displayName?: string;
  labels: Record<string, string>;
  sandboxName?: string;
  createTime?: string;
  expireTime?: string;
  ttlSeconds?: number;
  token?: string;
  warnings?: string[];
  error?: { code: string; message: string };
}

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  // A long write interval makes coalescing observable without timing: within it, only the
  // first execute writes; the rest wait for the trailing write.
  router = await startRouter({ ttlWriteIntervalSeconds: 120, maxTtlSeconds: 7200 });
  ns = await freshNamespace("router-mgmt");
  await grantSandboxUser(kube, ns, "alice");
  alice = userToken("alice");
  bob = userToken("bob");
  await kube.create(templateManifest(ns, "python"));
  await kube.create(poolManifest(ns, "python-pool", "python", 2));
  await poolReady(kube, ns, "python-pool", 2);
  await waitFor(() => router.router.caches.pools.get(ns, "python-pool")?.status?.readyReplicas === 2, { message: "router sees the pool" });
});

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

const api = (path: string) => `${router.url}/v1/sandboxes${path}${path.includes("?") ? "&" : "?"}namespace=${ns}`;

async function createSandbox(body: Record<string, unknown>, token = alice) {
  return call<View>(api(""), { token, body });
}

describe("create, get, list, delete", () => {
  it("creates a sandbox from a warm pool, waits for Ready, and returns its state, times and a sandbox token", async () => {
    const created = await createSandbox({ warmPool: "python-pool", ttlSeconds: 600, displayName: "analysis", labels: { team: "a" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      namespace: ns,
      state: "running",
      warmPool: "python-pool",
      template: "python",
      displayName: "analysis",
      ttlSeconds: 600,
    });
    expect(created.body.labels["team"]).toBe("a");
    expect(created.body.token).toBeTruthy();
    const createMs = Date.parse(created.body.createTime ?? "");
    const expireMs = Date.parse(created.body.expireTime ?? "");
    expect(expireMs - createMs).toBeGreaterThanOrEqual(598_000);
    expect(expireMs - createMs).toBeLessThanOrEqual(602_000);

    const claim = await getClaim(kube, ns, created.body.id);
    expect(claim.spec?.["warmPoolRef"]).toEqual({ name: "python-pool" });
    expect((claim.spec?.["lifecycle"] as Record<string, string>)["shutdownPolicy"]).toBe("Retain");
    expect(claim.metadata?.annotations?.[RouterKeys.CreatedByUser]).toBe("alice");

    const got = await call<View>(api(`/${created.body.id}`), { token: alice });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: created.body.id, state: "running", sandboxName: created.body.sandboxName });

    // The sandbox token reads and runs its own sandbox, and nothing else.
    const scoped = created.body.token ?? "";
    expect((await call<View>(api(`/${created.body.id}`), { token: scoped })).status).toBe(200);
    const ran = await call<{ stdout: string }>(api(`/${created.body.id}/execute`), {
      token: scoped,
      body: { code: "x = 40\nprint(x + 2)" },
    });
    expect(ran.status).toBe(200);
    expect(ran.body.stdout).toBe("42\n");
    expect((await call(api(""), { token: scoped })).status).toBe(403);
    expect((await createSandbox({ warmPool: "python-pool" }, scoped)).status).toBe(403);
  });

  it("creates by template name and keeps state across executes; files come back", async () => {
    const created = await createSandbox({ template: "python" });
    expect(created.status).toBe(201);
    expect(created.body.ttlSeconds).toBe(3600);
    const id = created.body.id;
    const input = Buffer.from("alpha\nbeta\n").toString("base64");
    const first = await call<{ stdout: string }>(api(`/${id}/execute`), {
      token: alice,
      body: { code: "lines = open('input.txt').read().splitlines()\nprint(len(lines))", files: [{ name: "input.txt", content: input }] },
    });
    expect(first.body.stdout).toBe("2\n");
    const second = await call<{ outputFiles: Array<{ name: string; content: string }> }>(api(`/${id}/execute`), {
      token: alice,
      body: { code: "open('output.txt', 'w').write('|'.join(reversed(lines)))" },
    });
    const out = second.body.outputFiles.find((f) => f.name === "output.txt");
    expect(Buffer.from(out?.content ?? "", "base64").toString()).toBe("beta|alpha");
    const file = await fetch(api(`/${id}/files/output.txt`), { headers: { authorization: `Bearer ${alice}` } });
    expect(await file.text()).toBe("beta|alpha");
  });

  it("rejects bad input with a clear 400 and unknown pools with 404", async () => {
    const both = await createSandbox({ warmPool: "python-pool", template: "python" });
    expect(both.status).toBe(400);
    expect(both.body.error?.message).toContain("exactly one of warmPool or template");
    const reserved = await createSandbox({ warmPool: "python-pool", labels: { "agents.x-k8s.io/x": "y" } });
    expect(reserved.status).toBe(400);
    const shortTtl = await createSandbox({ warmPool: "python-pool", ttlSeconds: 1 });
    expect(shortTtl.status).toBe(400);
    expect(shortTtl.body.error?.message).toContain("ttlSeconds");
    const unknown = await createSandbox({ warmPool: "nope" });
    expect(unknown.status).toBe(404);
    const noPoolForTemplate = await createSandbox({ template: "nope" });
    expect(noPoolForTemplate.status).toBe(404);
    expect(noPoolForTemplate.body.error?.message).toContain('SandboxTemplate "nope"');
    const badJson = await call(api(""), { token: alice, body: "{not json" });
    expect(badJson.status).toBe(400);
  });

  it("caps the TTL at the maximum and says so", async () => {
    const created = await createSandbox({ warmPool: "python-pool", ttlSeconds: 999_999, waitSeconds: 0 });
    expect([201, 202]).toContain(created.status);
    expect(created.body.ttlSeconds).toBe(7200);
    expect(created.body.warnings?.[0]).toContain("capped at 7200");
  });

  it("lists with filters by state, template and labels, paginated", async () => {
    const a = await createSandbox({ warmPool: "python-pool", labels: { batch: "list-test", n: "1" } });
    const b = await createSandbox({ warmPool: "python-pool", labels: { batch: "list-test", n: "2" } });
    const c = await createSandbox({ warmPool: "python-pool", labels: { batch: "list-test", n: "3" } });
    for (const r of [a, b, c]) expect(r.status).toBe(201);
    const ids = [a, b, c].map((r) => r.body.id);

    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await call<{ sandboxes: View[]; nextPageToken?: string }>(
        api(`?labels=batch=list-test&limit=2${pageToken ? `&pageToken=${pageToken}` : ""}`),
        { token: alice },
      );
      expect(page.status).toBe(200);
      expect(page.body.sandboxes.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.sandboxes.map((s) => s.id));
      pageToken = page.body.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual([...ids].sort());

    const one = await call<{ sandboxes: View[] }>(api("?labels=batch=list-test,n=2"), { token: alice });
    expect(one.body.sandboxes.map((s) => s.id)).toEqual([b.body.id]);
    const running = await call<{ sandboxes: View[] }>(api("?state=running&template=python&labels=batch=list-test"), { token: alice });
    expect(running.body.sandboxes).toHaveLength(3);
    const none = await call<{ sandboxes: View[] }>(api("?state=expired&labels=batch=list-test"), { token: alice });
    expect(none.body.sandboxes).toHaveLength(0);
    const otherTemplate = await call<{ sandboxes: View[] }>(api("?template=other&labels=batch=list-test"), { token: alice });
    expect(otherTemplate.body.sandboxes).toHaveLength(0);
    expect((await call(api("?state=bogus"), { token: alice })).status).toBe(400);
  });

  it("forbids others: bob can neither list, read, run nor delete alice's sandboxes", async () => {
    const created = await createSandbox({ warmPool: "python-pool" });
    const id = created.body.id;
    expect((await call(api(""), { token: bob })).status).toBe(403);
    expect((await call(api(`/${id}`), { token: bob })).status).toBe(403);
    expect((await call(api(`/${id}/execute`), { token: bob, body: { code: "1" } })).status).toBe(403);
    expect((await call(api(`/${id}`), { token: bob, method: "DELETE" })).status).toBe(403);
    expect((await createSandbox({ warmPool: "python-pool" }, bob)).status).toBe(403);
    expect((await call(api(""), {})).status).toBe(401);
  });

  it("deletes a sandbox; it is then gone", async () => {
    const created = await createSandbox({ warmPool: "python-pool" });
    const id = created.body.id;
    const del = await call(api(`/${id}`), { token: alice, method: "DELETE" });
    expect(del.status).toBe(200);
    await waitFor(async () => (await call(api(`/${id}`), { token: alice })).status === 404, { message: "deleted sandbox 404" });
    expect((await call(api(`/${id}`), { token: alice, method: "DELETE" })).status).toBe(404);
  });

  it("mints a fresh sandbox token for a caller with exec rights, not from a sandbox token", async () => {
    const created = await createSandbox({ warmPool: "python-pool" });
    const minted = await call<{ token: string; expiresAt: string }>(api(`/${created.body.id}/token`), { token: alice, body: {} });
    expect(minted.status).toBe(200);
    expect((await call(api(`/${created.body.id}`), { token: minted.body.token })).status).toBe(200);
    expect((await call(api(`/${created.body.id}/token`), { token: minted.body.token, body: {} })).status).toBe(403);
  });
});

describe("TTL", () => {
  it("resets on every execute, with at most one claim write per interval (coalesced)", async () => {
    const created = await createSandbox({ warmPool: "python-pool", ttlSeconds: 3600 });
    const id = created.body.id;
    // Stand in for time passing: the recorded expiry is now much nearer than a fresh TTL.
    const nearExpiry = new Date(Math.floor(Date.now() / 1000) * 1000 + 300_000).toISOString().replace(/\.000Z$/, "Z");
    await kube.patch(
      { apiVersion: "extensions.agents.x-k8s.io/v1beta1", kind: "SandboxClaim", namespace: ns, name: id },
      { spec: { lifecycle: { shutdownTime: nearExpiry } } },
      { type: "merge" },
    );
    await waitFor(() => router.router.caches.claims.get(ns, id)?.spec.lifecycle?.shutdownTime === nearExpiry, {
      message: "router sees the nearer expiry",
    });
    const originalExpiry = Date.parse(nearExpiry);
    const writesBefore = await router.metric("sandbox_router_ttl_writes_total", { result: "ok" });
    const extensionsBefore = await router.metric("sandbox_router_ttl_extensions_total");
    let lastCallStarted = 0;
    for (let i = 0; i < 5; i++) {
      lastCallStarted = Date.now();
      const r = await call(api(`/${id}/execute`), { token: alice, body: { code: `n = ${i}` } });
      expect(r.status).toBe(200);
    }
    expect(await router.metric("sandbox_router_ttl_extensions_total")).toBe(extensionsBefore + 5);
    // The first execute wrote at once; the other four are waiting for the trailing write.
    await waitFor(async () => (await router.metric("sandbox_router_ttl_writes_total", { result: "ok" })) === writesBefore + 1, {
      message: "first TTL write",
    });
    const afterFirst = await getClaim(kube, ns, id);
    const firstExpiry = Date.parse((afterFirst.spec?.["lifecycle"] as { shutdownTime: string }).shutdownTime);
    expect(firstExpiry).toBeGreaterThan(originalExpiry + 3000_000);

    // Five extensions, one write: the claim still holds the first write's time.
    expect(await router.metric("sandbox_router_ttl_writes_total", { result: "ok" })).toBe(writesBefore + 1);
    // Graceful shutdown flushes the trailing write: the claim ends up at last execute + TTL.
    await router.router.deps.ttl.flushAll();
    const final = await getClaim(kube, ns, id);
    const finalExpiry = Date.parse((final.spec?.["lifecycle"] as { shutdownTime: string }).shutdownTime);
    expect(finalExpiry).toBeGreaterThanOrEqual(lastCallStarted + 3600_000 - 1000);
  });

  it("expires a sandbox when its TTL runs out: the sandbox goes, the state stays visible", async () => {
    // No executes here (flushAll above also stopped this router's TTL touches): only the TTL runs.
    const created = await createSandbox({ warmPool: "python-pool", ttlSeconds: 10 });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const sandboxName = created.body.sandboxName ?? "";
    const before = await call<View>(api(`/${id}`), { token: alice });
    expect(before.body.state).toBe("running");
    const expired = await waitFor(
      async () => {
        const v = await call<View>(api(`/${id}`), { token: alice });
        return v.body.state === "expired" ? v.body : undefined;
      },
      { timeoutMs: 60_000, message: "state expired" },
    );
    expect(Date.parse(expired.expireTime ?? "")).toBeLessThanOrEqual(Date.now());
    await waitFor(
      async () => {
        try {
          await kube.get({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name: sandboxName });
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 60_000, message: "sandbox deleted on expiry" },
    );
    const exec = await call<{ error: { code: string } }>(api(`/${id}/execute`), { token: alice, body: { code: "1" } });
    expect(exec.status).toBe(410);
    expect(exec.body.error.code).toBe("expired");
  });
});

describe("warm pools", () => {
  it("lists pools and scales one through the scale subresource", async () => {
    const listed = await call<{ warmPools: Array<{ name: string; template: string; replicas: number }> }>(
      `${router.url}/v1/warmpools?namespace=${ns}`,
      { token: alice },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.warmPools.find((p) => p.name === "python-pool")).toMatchObject({ template: "python" });
    const scaled = await call(`${router.url}/v1/warmpools/python-pool/scale?namespace=${ns}`, { token: alice, body: { replicas: 3 } });
    expect(scaled.status).toBe(200);
    await poolReady(kube, ns, "python-pool", 3);
    expect((await call(`${router.url}/v1/warmpools/python-pool/scale?namespace=${ns}`, { token: bob, body: { replicas: 0 } })).status).toBe(
      403,
    );
    expect(
      (await call(`${router.url}/v1/warmpools/python-pool/scale?namespace=${ns}`, { token: alice, body: { replicas: -1 } })).status,
    ).toBe(400);
  });

  it("exposes router metrics", async () => {
    const text = await router.registry.metrics();
    expect(text).toContain("sandbox_router_requests_total");
    expect(await router.metric("sandbox_router_requests_total", { handler: "management", code: "201" })).toBeGreaterThan(0);
  });
});
