// The router's data plane against the real API server (TokenReview, SubjectAccessReview,
// informers) and the real operator; sandbox pods' execution servers are real sandbox-execd
// processes on loopback (see router-fixture.ts for why the pod network is simulated here).
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { ExecdTokenVerifier } from "../../../src/execd-token/index.js";
import { ScopedTokens } from "../../../src/router/scoped-token.js";
import {
  startOperator,
  templateManifest,
  poolManifest,
  sandboxManifest,
  claimManifest,
  type RunningOperator,
} from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { execdTokenKey } from "../harness/execd-token-key.js";
import { call, getClaim, ndjsonLines, poolReady, sandboxReady, type Obj } from "./helpers.js";
import { grantSandboxUser, SIGNING_KEY, startRouter, type RunningRouter } from "./router-fixture.js";

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let bobNs: string;
let alice: string;
let bob: string;
let raw: Obj;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("router-proxy");
  bobNs = await freshNamespace("router-proxy-bob");
  await grantSandboxUser(kube, ns, "alice");
  await grantSandboxUser(kube, bobNs, "bob");
  alice = userToken("alice");
  bob = userToken("bob");
  await kube.create(sandboxManifest(ns, "raw"));
  raw = await sandboxReady(kube, ns, "raw");
  await waitFor(() => router.router.caches.sandboxes.get(ns, "raw")?.status?.podIPs?.length, { message: "router cache has the sandbox" });
});

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

const exec = (token: string | undefined, headers: Record<string, string>, body: unknown = { code: "1 + 1" }) =>
  call<{ stdout?: string; results?: Array<{ mimeType: string; data: string }>; error?: { code: string; message: string } }>(
    `${router.url}/v1/execute`,
    { token, headers, body },
  );

describe("authentication and authorization", () => {
  it("answers 401 without a token, with a token the API server rejects, and with a forged sandbox token", async () => {
    const none = await exec(undefined, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe("unauthenticated");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");

    const bogus = await exec("not-a-real-token", { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
    expect(bogus.status).toBe(401);

    const rawSubject = { namespace: ns, name: "raw", boundTo: { kind: "sandbox", uid: raw.metadata?.uid ?? "" } } as const;
    const forged = await new ScopedTokens(Buffer.alloc(32, 7)).sign(rawSubject, 600);
    const withForged = await exec(forged.token, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
    expect(withForged.status).toBe(401);
    expect(withForged.body.error?.message).toContain("signature");

    const expired = await new ScopedTokens(SIGNING_KEY).sign(rawSubject, 10, Date.now() - 3600_000);
    expect((await exec(expired.token, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns })).status).toBe(401);
  });

  it("answers 403 to a user without exec rights on the sandbox, whether or not it exists", async () => {
    const other = await exec(bob, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
    expect(other.status).toBe(403);
    expect(other.body.error?.message).toContain('user "bob" cannot create sandboxes/exec');
    // Same answer for a name that does not exist: bob learns nothing about alice's namespace.
    expect((await exec(bob, { "x-sandbox-id": "no-such-sandbox", "x-sandbox-namespace": ns })).status).toBe(403);
  });

  it("answers 403 to a sandbox token used on another sandbox, and lets it through to its own", async () => {
    await kube.create(sandboxManifest(ns, "second"));
    await sandboxReady(kube, ns, "second");
    await waitFor(() => router.router.caches.sandboxes.get(ns, "second")?.status?.podIPs?.length);
    const uid = router.router.caches.sandboxes.get(ns, "second")?.metadata.uid ?? "";
    const token = (await new ScopedTokens(SIGNING_KEY).sign({ namespace: ns, name: "second", boundTo: { kind: "sandbox", uid } }, 600))
      .token;
    const own = await exec(token, { "x-sandbox-id": "second", "x-sandbox-namespace": ns });
    expect(own.status).toBe(200);
    expect(own.body.results?.[0]).toEqual({ mimeType: "text/plain", data: "2" });
    const foreign = await exec(token, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error?.message).toContain(`for ${ns}/second only`);
  });

  it("reuses TokenReview and SubjectAccessReview answers for repeated calls", async () => {
    const before = await router.metric("sandbox_router_auth_cache_hits_total");
    for (let i = 0; i < 3; i++) expect((await exec(alice, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns })).status).toBe(200);
    expect(await router.metric("sandbox_router_auth_cache_hits_total")).toBeGreaterThanOrEqual(before + 4);
  });

  it("asks the API server once per namespace for a caller allowed on every sandbox in it, not once per sandbox", async () => {
    await grantSandboxUser(kube, ns, "dave");
    const dave = userToken("dave");
    const reviews = () => router.metric("sandbox_router_subject_access_reviews_total");
    const before = await reviews();
    expect((await exec(dave, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns })).status).toBe(200);
    expect(await reviews()).toBe(before + 1);
    // Another name in the same namespace (one that does not exist: it is authorized first, then
    // not found) needs no second review.
    const ghost = await exec(dave, { "x-sandbox-id": "ghost", "x-sandbox-namespace": ns });
    expect(ghost.status).toBe(404);
    expect(await reviews()).toBe(before + 1);
  });

  it("still honours a Role limited to named sandboxes: its holder runs code in those and is refused the rest", async () => {
    await kube.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "only-raw", namespace: ns },
      rules: [{ apiGroups: ["agents.x-k8s.io"], resources: ["sandboxes/exec"], verbs: ["create"], resourceNames: ["raw"] }],
    } as never);
    await kube.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "only-raw", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "only-raw" },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "carol" }],
    } as never);
    const carol = userToken("carol");
    expect((await exec(carol, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns })).status).toBe(200);
    const other = await exec(carol, { "x-sandbox-id": "other", "x-sandbox-namespace": ns });
    expect(other.status).toBe(403);
    expect(other.body.error?.message).toContain('"other"');
  });

  it("accepts a ServiceAccount token bound by RBAC (what an in-cluster agent would use)", async () => {
    await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "agent", namespace: ns } });
    await kube.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "agent-sandbox-user", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "sandbox-user-alice" },
      subjects: [{ kind: "ServiceAccount", name: "agent", namespace: ns }],
    } as never);
    const tr = await kube.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/agent/token`, {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } },
    });
    const res = await exec(tr.status.token, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
    expect(res.status).toBe(200);
  });
});

describe("resolution", () => {
  it("answers 404 for a sandbox that does not exist (to a caller allowed to ask)", async () => {
    const res = await exec(alice, { "x-sandbox-id": "ghost", "x-sandbox-namespace": ns });
    expect(res.status).toBe(404);
    expect(res.body.error?.message).toContain('"ghost"');
  });

  it("answers 503 with Retry-After while a sandbox is not Ready", async () => {
    // No toleration for the fake node and no real node: the pod stays Pending.
    await kube.create(
      sandboxManifest(ns, "pending", { podTemplate: { spec: { containers: [{ name: "main", image: "x", command: ["sleep", "1"] }] } } }),
    );
    await waitFor(() => router.router.caches.sandboxes.get(ns, "pending")?.status?.conditions?.length, {
      message: "pending sandbox has status",
    });
    const res = await exec(alice, { "x-sandbox-id": "pending", "x-sandbox-namespace": ns });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.body.error?.code).toBe("not_ready");
  });

  it("answers 400 for a malformed X-Sandbox-ID or port", async () => {
    expect((await exec(alice, { "x-sandbox-id": "Bad_Name", "x-sandbox-namespace": ns })).status).toBe(400);
    expect((await exec(alice, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns, "x-sandbox-port": "99999" })).status).toBe(400);
  });

  it("routes a claim name to the warm sandbox it adopted (path routing)", async () => {
    await kube.create(templateManifest(ns, "python"));
    await kube.create(poolManifest(ns, "python-pool", "python", 1));
    await poolReady(kube, ns, "python-pool", 1);
    await kube.create(claimManifest(ns, "my-claim", "python-pool"));
    const claim = await waitFor(
      async () => {
        const c = await getClaim(kube, ns, "my-claim");
        return c.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const sandboxName = claim.status?.sandbox?.name ?? "";
    expect(sandboxName).not.toBe("my-claim");
    await waitFor(() => router.router.caches.claims.get(ns, "my-claim")?.status?.sandbox?.name);
    const res = await call<{ stdout: string }>(`${router.url}/sandboxes/${ns}/my-claim/v1/execute`, {
      token: alice,
      body: { code: "print('via claim')" },
    });
    expect(res.status).toBe(200);
    expect(res.body.stdout).toBe("via claim\n");
    expect(router.network.dials.at(-1)).toMatchObject({ sandboxName, port: 8888 });
  });
});

describe("resolution race", () => {
  it("holds a call made the moment a claim is created until the router's caches see it Ready, instead of 503", async () => {
    // Its own router with a generous wait, so a loaded machine cannot turn this into a timing test.
    const patient = await startRouter({ resolveWaitMs: 60_000 });
    try {
      await poolReady(kube, ns, "python-pool", 1);
      await kube.create(claimManifest(ns, "eager-claim", "python-pool"));
      const seenBeforeCall = patient.router.caches.claims.get(ns, "eager-claim");
      // The operator has not answered yet: without the wait this call would get 404 or 503.
      expect(seenBeforeCall?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false).toBe(false);
      const res = await call<{ stdout: string }>(`${patient.url}/sandboxes/${ns}/eager-claim/v1/execute`, {
        token: alice,
        body: { code: "print('no retry needed')" },
      });
      expect(res.status).toBe(200);
      expect(res.body.stdout).toBe("no retry needed\n");
    } finally {
      await patient.stop();
    }
  });

  it("still answers 404 for a name that never appears, after the wait", async () => {
    const quick = await startRouter({ resolveWaitMs: 200 });
    try {
      const started = Date.now();
      const res = await call(`${quick.url}/sandboxes/${ns}/never-there/v1/execute`, { token: alice, body: { code: "1" } });
      expect(res.status).toBe(404);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    } finally {
      await quick.stop();
    }
  });
});

describe("forwarding", () => {
  it("follows upstream's header contract and sends the pod only the sandbox's own credentials", async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const echo = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json", "x-from-pod": "yes" });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const podIP = raw.status?.podIPs?.[0] ?? "";
    router.network.override(podIP, 9000, { host: "127.0.0.1", port: (echo.address() as AddressInfo).port });
    router.network.override(podIP, 8888, { host: "127.0.0.1", port: (echo.address() as AddressInfo).port });
    try {
      const toApp = await call(`${router.url}/some/path?q=1`, {
        token: alice,
        headers: { "x-sandbox-id": "raw", "x-sandbox-namespace": ns, "x-sandbox-port": "9000", "x-custom": "kept" },
      });
      expect(toApp.status).toBe(200);
      expect(toApp.body).toEqual({ path: "/some/path?q=1" });
      expect(toApp.headers.get("x-from-pod")).toBe("yes");
      const appHeaders = seen.at(-1) ?? {};
      expect(appHeaders["x-custom"]).toBe("kept");
      expect(appHeaders["authorization"]).toBeUndefined(); // neither alice's token nor the execd token
      expect(Object.keys(appHeaders).filter((h) => h.startsWith("x-sandbox-"))).toEqual([]);
      expect(appHeaders["x-forwarded-for"]).toBeTruthy();

      // Namespace defaults to "default" per upstream; here it is given, port defaults to 8888.
      await call(`${router.url}/v1/status`, { token: alice, headers: { "x-sandbox-id": "raw", "x-sandbox-namespace": ns } });
      const execdHeaders = seen.at(-1) ?? {};
      // A token the router signed for this very sandbox (namespace, name and uid), nothing of alice's.
      const execdToken = String(execdHeaders["authorization"] ?? "").replace(/^Bearer /, "");
      await new ExecdTokenVerifier([execdTokenKey.publicKey], { namespace: ns, name: "raw", uid: raw.metadata?.uid ?? "" }).verify(
        execdToken,
      );
      expect(execdHeaders["authorization"]).not.toContain(alice);
    } finally {
      router.network.clearOverride(podIP, 9000);
      router.network.clearOverride(podIP, 8888);
      echo.close();
    }
  });

  it('defaults X-Sandbox-Namespace to "default" as upstream does', async () => {
    const res = await exec(alice, { "x-sandbox-id": "raw" });
    expect(res.status).toBe(403);
    expect(res.body.error?.message).toContain('in namespace "default"');
  });

  it("streams NDJSON events through unbuffered and in order", async () => {
    // The code prints, then blocks until a file appears that the test writes only after it has
    // received that first event through the router: with any buffering this would never finish.
    const code =
      "import os, time\nprint('first', flush=True)\nwhile not os.path.exists('go'):\n    time.sleep(0.02)\nprint('second', flush=True)\n'done'";
    const res = await fetch(`${router.url}/sandboxes/${ns}/raw/v1/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, accept: "application/x-ndjson", "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const events: Array<Record<string, unknown>> = [];
    for await (const event of ndjsonLines(res)) {
      events.push(event);
      if (event["type"] === "stdout" && event["text"] === "first\n") {
        const put = await call(`${router.url}/sandboxes/${ns}/raw/v1/files/go`, {
          method: "PUT",
          token: alice,
          body: "x",
          headers: { "content-type": "application/octet-stream" },
        });
        expect(put.status).toBe(201);
      }
    }
    const kinds = events.map((e) => (e["type"] === "stdout" ? `stdout:${String(e["text"]).trim()}` : String(e["type"])));
    expect(kinds.filter((k) => k.startsWith("stdout"))).toEqual(["stdout:first", "stdout:second"]);
    expect(kinds.indexOf("stdout:first")).toBeLessThan(kinds.indexOf("stdout:second"));
    expect(kinds.at(-1)).toBe("summary");
    expect(events.find((e) => e["type"] === "result")).toMatchObject({ mimeType: "text/plain", data: "'done'" });
  });

  it("answers 502 (not 401) when the pod rejects the router's credentials", async () => {
    const podIP = raw.status?.podIPs?.[0] ?? "";
    const liar = http.createServer((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
    router.network.override(podIP, 8888, { host: "127.0.0.1", port: (liar.address() as AddressInfo).port });
    try {
      const res = await exec(alice, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns });
      expect(res.status).toBe(502);
      expect(res.body.error?.code).toBe("upstream_auth");
    } finally {
      router.network.clearOverride(podIP, 8888);
      liar.close();
    }
  });

  it("streams a large file in and out unchanged (backpressure both ways)", async () => {
    const size = 24 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.writeUInt32LE(i, i);
    const put = await fetch(`${router.url}/sandboxes/${ns}/raw/v1/files/big.bin`, {
      method: "PUT",
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/octet-stream" },
      body: data,
    });
    expect(put.status).toBe(201);
    const got = await fetch(`${router.url}/sandboxes/${ns}/raw/v1/files/big.bin`, { headers: { authorization: `Bearer ${alice}` } });
    expect(got.status).toBe(200);
    expect(Number(got.headers.get("content-length"))).toBe(size);
    const back = Buffer.from(await got.arrayBuffer());
    expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
  });

  it("answers 504 when the pod stays silent past X-Sandbox-Timeout, and 400 for a bad value", async () => {
    const slow = await exec(
      alice,
      { "x-sandbox-id": "raw", "x-sandbox-namespace": ns, "x-sandbox-timeout": "0.5" },
      { code: "import time\ntime.sleep(5)", context: undefined },
    );
    expect(slow.status).toBe(504);
    expect(slow.body.error?.code).toBe("upstream_timeout");
    expect((await exec(alice, { "x-sandbox-id": "raw", "x-sandbox-namespace": ns, "x-sandbox-timeout": "soon" })).status).toBe(400);
  });

  it("answers 503 for a suspended sandbox", async () => {
    await kube.create(sandboxManifest(ns, "napping"));
    await sandboxReady(kube, ns, "napping");
    await kube.patch(
      { apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name: "napping" },
      { spec: { operatingMode: "Suspended" } },
      { type: "merge" },
    );
    await waitFor(() => router.router.caches.sandboxes.get(ns, "napping")?.spec.operatingMode === "Suspended", {
      message: "router sees the suspension",
    });
    const res = await exec(alice, { "x-sandbox-id": "napping", "x-sandbox-namespace": ns });
    expect(res.status).toBe(503);
    expect(res.body.error?.message).toContain("suspended");
    expect(res.headers.get("retry-after")).toBeTruthy();
  });
});
