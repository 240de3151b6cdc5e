// Property-based (fast-check, fixed seeds): the router under hostile input. Callers with no,
// broken, forged, expired, name-only or someone else's credentials, and callers with real ones, send
// requests whose routing (X-Sandbox-* headers, /sandboxes/{ns}/{name}/ paths, the management
// API) is bent with encodings, dot segments, double slashes, unicode and NUL. Properties: the
// router answers every one (no 5xx but the documented upstream ones, each a JSON error), and
// it never dials a sandbox the caller may not use. Real API server (TokenReview, SAR),
// operator and execution servers; see router-fixture.ts for the simulated pod network.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { SCOPED_TOKEN_ISSUER, ScopedTokens } from "../../../src/router/scoped-token.js";
import { jsonOf, rawRequest, type RawRequest, type RawResponse } from "../../execd/raw-http.js";
import { startOperator, sandboxManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { sandboxReady } from "./helpers.js";
import { grantSandboxUser, SIGNING_KEY, startRouter, type RunningRouter } from "./router-fixture.js";

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let port: number;
let nsA: string;
let nsB: string;
let sentinelDir: string;
const SECRET = `ROUTER-SENTINEL-${Math.random().toString(36).slice(2)}`;

/** Who calls, with what credential, and which sandboxes ("ns/name") it may reach. */
interface Caller {
  kind: string;
  authorization?: string;
  may: (namespace: string, sandbox: string) => boolean;
}
let callers: Caller[];

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  // Unknown targets are answered at once: the wait for caches (--resolve-wait) is not under test
  // here and would cost a second per generated request for a missing sandbox.
  router = await startRouter({ resolveWaitMs: 0 });
  port = Number(new URL(router.url).port);
  nsA = await freshNamespace("router-fuzz-a");
  nsB = await freshNamespace("router-fuzz-b");
  await grantSandboxUser(kube, nsA, "alice");
  await grantSandboxUser(kube, nsB, "bob");
  for (const [ns, name] of [
    [nsA, "mine"],
    [nsA, "other"],
    [nsB, "bobs"],
  ] as const)
    await kube.create(sandboxManifest(ns, name));
  for (const [ns, name] of [
    [nsA, "mine"],
    [nsA, "other"],
    [nsB, "bobs"],
  ] as const) {
    await sandboxReady(kube, ns, name);
    await waitFor(() => router.router.caches.sandboxes.get(ns, name)?.status?.podIPs?.length, {
      message: `router cache has ${ns}/${name}`,
    });
  }
  // A secret beside "mine"'s workspace, and a link to it planted inside: no route may read it.
  const mine = router.router.caches.sandboxes.get(nsA, "mine")!;
  const execd = await router.network.execdFor(nsA, "mine", mine.status!.podIPs![0]!);
  sentinelDir = await mkdtemp(path.join(os.tmpdir(), "router-fuzz-sentinel-"));
  await writeFile(path.join(sentinelDir, "secret.txt"), SECRET);
  await symlink(sentinelDir, path.join(execd.workspace, "escape"));
  await mkdir(path.join(execd.workspace, "data"), { recursive: true });
  await writeFile(path.join(execd.workspace, "data", "ok.txt"), "fine");

  const uidOf = (ns: string, name: string): string => router.router.caches.sandboxes.get(ns, name)?.metadata.uid ?? "";
  const signed = (ns: string, name: string, key = SIGNING_KEY, ttl = 600, now = Date.now()): Promise<string> =>
    new ScopedTokens(key).sign({ namespace: ns, name, boundTo: { kind: "sandbox", uid: uidOf(ns, name) } }, ttl, now).then((t) => t.token);
  const none = (): boolean => false;
  const alg = (header: object, payload: object): string =>
    [header, payload].map((part) => Buffer.from(JSON.stringify(part)).toString("base64url")).join(".") + ".";
  const now = Math.floor(Date.now() / 1000);
  callers = [
    { kind: "no credentials", may: none },
    { kind: "garbage", authorization: "Bearer not-a-token", may: none },
    { kind: "not bearer", authorization: `Basic ${Buffer.from("alice:pw").toString("base64")}`, may: none },
    { kind: "two tokens", authorization: `Bearer ${userToken("alice")} ${userToken("alice")}`, may: none },
    { kind: "expired scoped", authorization: `Bearer ${await signed(nsA, "mine", SIGNING_KEY, 10, Date.now() - 3_600_000)}`, may: none },
    { kind: "wrong signature", authorization: `Bearer ${await signed(nsA, "mine", Buffer.alloc(32, 9))}`, may: none },
    {
      kind: "alg none",
      authorization: `Bearer ${alg({ alg: "none", typ: "JWT" }, { iss: SCOPED_TOKEN_ISSUER, aud: "sandbox", ns: nsA, name: "mine", exp: now + 600 })}`,
      may: none,
    },
    {
      // What routers before identity binding signed: a name and no uid.
      kind: "scoped by name only",
      authorization: `Bearer ${await new SignJWT({ ns: nsA, name: "mine" })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(SCOPED_TOKEN_ISSUER)
        .setAudience("sandbox")
        .setExpirationTime(now + 600)
        .sign(SIGNING_KEY)}`,
      may: none,
    },
    {
      kind: "scoped without a sandbox",
      authorization: `Bearer ${await new SignJWT({ ns: 7, name: ["mine"] })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(SCOPED_TOKEN_ISSUER)
        .setAudience("sandbox")
        .setExpirationTime(now + 600)
        .sign(SIGNING_KEY)}`,
      may: none,
    },
    { kind: "bob", authorization: `Bearer ${userToken("bob")}`, may: (ns) => ns === nsB },
    { kind: "alice", authorization: `Bearer ${userToken("alice")}`, may: (ns) => ns === nsA },
    { kind: "scoped mine", authorization: `Bearer ${await signed(nsA, "mine")}`, may: (ns, name) => ns === nsA && name === "mine" },
    { kind: "scoped bobs", authorization: `Bearer ${await signed(nsB, "bobs")}`, may: (ns, name) => ns === nsB && name === "bobs" },
    // Valid, but bound to a claim uid that no object has: a Sandbox of the token's name is not its.
    {
      kind: "scoped for a claim of that name",
      authorization: `Bearer ${await new ScopedTokens(SIGNING_KEY).sign({ namespace: nsA, name: "mine", boundTo: { kind: "claim", uid: "no-such-claim-uid" } }, 600).then((t) => t.token)}`,
      may: none,
    },
  ];
});

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
  if (sentinelDir) await rm(sentinelDir, { recursive: true, force: true });
});

/** Namespace and name spellings: real, foreign, encoded, dotted, unicode, NUL, overlong. */
const nameArb = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom("mine", "other", "bobs", "ghost") },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        "MINE",
        "mine%00",
        "min%65",
        "%6d%69%6e%65",
        "mine%2f..%2fbobs",
        "..",
        "%2e%2e",
        ".",
        "mine.",
        "-mine",
        "m\u00efne",
        "m%C3%AFne",
        "%E0%A4%A",
        "%",
        "mine%20",
        "a".repeat(300),
        "",
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }).map(encodeURIComponent) },
  );
const nsArb = (): fc.Arbitrary<"A" | "B" | string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("A", "B") },
    { weight: 1, arbitrary: fc.constantFrom("default", "kube-system", "%41", "..", "A%2f..%2fB", "", "A ", "\u00e9") },
  );

/** A pod-side path: the execution server's routes with traversal and encoding tricks. */
const podPath = fc.constantFrom(
  "/v1/execute",
  "/execute",
  "/v1/files/data/ok.txt",
  "/v1/files/escape/secret.txt",
  "/v1/files/..%2f..%2fetc%2fpasswd",
  "/v1/files/%2e%2e/%2e%2e/etc/passwd",
  "/v1/files//etc/passwd",
  "/download/escape/secret.txt",
  "/list/escape",
  "/v1/files/data/../escape/secret.txt",
  "/../../v1/files/escape/secret.txt",
  "/v1/status",
  "/",
  "",
);

type Route =
  | { via: "headers"; ns: string; id: string; port: string | null; path: string; nsCase: boolean }
  | { via: "path"; ns: string; id: string; path: string; glue: string }
  | {
      via: "management";
      ns: string;
      id: string;
      action: "execute" | "files" | "get" | "delete" | "token";
      path: string;
      nsBy: "query" | "header" | "both";
    };

/** Plain, well-formed routes to the real sandboxes: what the hostile ones are measured against. */
const plainRouteArb: fc.Arbitrary<Route> = fc.oneof(
  fc.record({
    via: fc.constant("headers" as const),
    ns: fc.constantFrom("A", "B"),
    id: fc.constantFrom("mine", "other", "bobs"),
    port: fc.constant(null),
    path: podPath,
    nsCase: fc.constant(false),
  }),
  fc.record({
    via: fc.constant("path" as const),
    ns: fc.constantFrom("A", "B"),
    id: fc.constantFrom("mine", "other", "bobs"),
    path: podPath,
    glue: fc.constant("/"),
  }),
);

const hostileRouteArb: fc.Arbitrary<Route> = fc.oneof(
  fc.record({
    via: fc.constant("headers" as const),
    ns: nsArb(),
    id: nameArb(),
    port: fc.constantFrom(null, "8888", "80", "0", "65536", "8888.0", "abc", " 8888 "),
    path: podPath,
    nsCase: fc.boolean(),
  }),
  fc.record({
    via: fc.constant("path" as const),
    ns: nsArb(),
    id: nameArb(),
    path: podPath,
    glue: fc.constantFrom("/", "//", "/./", "/%2e/", "/../", "/x/../"),
  }),
  fc.record({
    via: fc.constant("management" as const),
    ns: nsArb(),
    id: nameArb(),
    action: fc.constantFrom("execute" as const, "files" as const, "get" as const, "delete" as const, "token" as const),
    path: fc.constantFrom("data/ok.txt", "escape/secret.txt", "..%2f..%2fescape%2fsecret.txt", "%2e%2e/x", "a%00b", "%E0%A4%A"),
    nsBy: fc.constantFrom("query" as const, "header" as const, "both" as const),
  }),
);

const routeArb: fc.Arbitrary<Route> = fc.oneof({ weight: 2, arbitrary: plainRouteArb }, { weight: 3, arbitrary: hostileRouteArb });

const prefix = { "/": "", "//": "/", "/./": "/.", "/%2e/": "/%2e", "/../": "/..", "/x/../": "/x/.." } as Record<string, string>;

function build(route: Route, caller: Caller): RawRequest {
  const nsName = (n: string): string => (n === "A" ? nsA : n === "B" ? nsB : n);
  const headers: Array<[string, string]> = caller.authorization ? [["Authorization", caller.authorization]] : [];
  const body = '{"code":"1+1","command":"echo hi"}';
  const post = (p: string): boolean => p === "/v1/execute" || p === "/execute";
  switch (route.via) {
    case "headers": {
      headers.push([route.nsCase ? "x-SANDBOX-id" : "X-Sandbox-ID", route.id], ["X-Sandbox-Namespace", nsName(route.ns)]);
      if (route.port !== null) headers.push(["X-Sandbox-Port", route.port]);
      return { method: post(route.path) ? "POST" : "GET", target: route.path || "/", headers, ...(post(route.path) ? { body } : {}) };
    }
    case "path":
      return {
        method: post(route.path) ? "POST" : "GET",
        target: `${prefix[route.glue] ?? ""}/sandboxes/${nsName(route.ns)}/${route.id}${route.path}`,
        headers,
        ...(post(route.path) ? { body } : {}),
      };
    case "management": {
      const ns = nsName(route.ns);
      const query = route.nsBy !== "header" ? `?namespace=${ns}` : "";
      if (route.nsBy !== "query") headers.push(["X-Sandbox-Namespace", route.nsBy === "both" ? (ns === nsA ? nsB : nsA) : ns]);
      const base = `/v1/sandboxes/${route.id}`;
      switch (route.action) {
        case "execute":
          return { method: "POST", target: `${base}/execute${query}`, headers, body };
        case "files":
          return { method: "GET", target: `${base}/files/${route.path}${query}`, headers };
        case "get":
          return { method: "GET", target: `${base}${query}`, headers };
        case "delete":
          // Never a real delete of a fixture: the id is mangled unless the caller may not delete.
          return { method: "DELETE", target: `${base}x${query}`, headers };
        default:
          return { method: "POST", target: `${base}/token${query}`, headers, body: "{}" };
      }
    }
  }
}

const UNAUTHENTICATED = new Set([
  "no credentials",
  "garbage",
  "not bearer",
  "two tokens",
  "expired scoped",
  "wrong signature",
  "alg none",
  "scoped by name only",
  "scoped without a sandbox",
]);

/** Statuses the router may give when it did reach an allowed sandbox (the pod refused or broke). */
const UPSTREAM = new Set([502, 503, 504]);

function expectAnswer(res: RawResponse, what: string, dialed: boolean): void {
  expect(res.status, `${what}: no answer`).not.toBe(0);
  const text = res.body.toString("utf8");
  expect(text.includes(SECRET), `${what} leaked the sentinel`).toBe(false);
  if (res.status >= 500) expect(dialed && UPSTREAM.has(res.status), `${what}: ${res.status} ${text.slice(0, 300)}`).toBe(true);
  if (res.status >= 400) {
    const body = jsonOf(res) as { error?: { code?: unknown; message?: unknown }; message?: unknown } | undefined;
    // Errors from the pod pass through as the pod wrote them (upstream routes answer {message}).
    const message = body?.error?.message ?? body?.message;
    expect(typeof message === "string" && message.length > 0, `${what}: ${res.status} ${text.slice(0, 300)}`).toBe(true);
    expect(text, what).not.toMatch(/\n\s+at \S|node:internal|\.ts:\d+:\d+/);
  }
}

describe("fuzzed router requests", () => {
  it("never reach a sandbox the caller may not use, and always answer with a JSON error or the pod's answer", async () => {
    const tally = new Map<string, number>();
    let dialedRuns = 0;
    await fc.assert(
      // Callers with real credentials are drawn more often, so many requests get past auth.
      fc.asyncProperty(
        fc.oneof({ weight: 2, arbitrary: fc.nat({ max: 8 }) }, { weight: 3, arbitrary: fc.integer({ min: 9, max: 13 }) }),
        routeArb,
        async (who, route) => {
          const caller = callers[who]!;
          const req = build(route, caller);
          const before = router.network.dials.length;
          const res = await rawRequest(port, req);
          const dials = router.network.dials.slice(before);
          const what = `${caller.kind}: ${req.method} ${req.target} ${JSON.stringify(req.headers?.filter(([n]) => n !== "Authorization"))}`;
          for (const dial of dials)
            expect(caller.may(dial.namespace, dial.sandboxName), `${what} reached ${dial.namespace}/${dial.sandboxName}`).toBe(true);
          expectAnswer(res, what, dials.length > 0);
          if (UNAUTHENTICATED.has(caller.kind)) {
            expect(dials, what).toEqual([]);
            expect(res.status, what).toBeGreaterThanOrEqual(400);
          }
          const key = `${res.status}`;
          tally.set(key, (tally.get(key) ?? 0) + 1);
          if (dials.length) dialedRuns++;
        },
      ),
      { seed: 0x5eed10, numRuns: 2000 },
    );
    console.log(
      `router fuzz: 2000 requests, ${dialedRuns} reached a sandbox; statuses ${[...tally]
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`,
    );
    // Still serving: a real execute through each routing style.
    const alice = callers.find((c) => c.kind === "alice")!.authorization!;
    const ok = await rawRequest(port, {
      method: "POST",
      target: `/sandboxes/${nsA}/mine/v1/execute`,
      headers: [["Authorization", alice]],
      body: '{"code":"1+1"}',
    });
    expect(ok.status).toBe(200);
    expect(jsonOf(ok)).toMatchObject({ results: [{ mimeType: "text/plain", data: "2" }] });
  });

  it("answers huge headers, odd methods and raw bytes in the request line with a JSON 4xx", async () => {
    const alice = callers.find((c) => c.kind === "alice")!.authorization!;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .tuple(fc.integer({ min: 17 * 1024, max: 128 * 1024 }), fc.constantFrom("header", "id", "auth", "url"))
            .map(([size, shape]) => ({ size, shape })),
          fc
            .tuple(
              fc.constantFrom("PATCH", "OPTIONS", "TRACE", "PROPFIND", "CONNECT", "FOO", "get", "G3T"),
              fc.constantFrom("/v1/sandboxes", "/healthz", `/sandboxes/A/mine/v1/execute`, "/"),
            )
            .map(([method, target]) => ({ method, target })),
          fc.string({ unit: "binary", minLength: 1, maxLength: 6 }).map((junk) => ({ junk })),
        ),
        async (input) => {
          runs++;
          let req: RawRequest;
          if ("size" in input) {
            const big = "a".repeat(input.size);
            const headers: Array<[string, string]> =
              input.shape === "auth"
                ? [["Authorization", `Bearer ${big}`]]
                : [["Authorization", alice], input.shape === "id" ? ["X-Sandbox-ID", big] : ["X-Big", big]];
            req = {
              method: "GET",
              target: input.shape === "url" ? `/sandboxes/${nsA}/mine/${big}` : "/v1/status",
              headers:
                input.shape === "auth" || input.shape === "url"
                  ? [["X-Sandbox-ID", "mine"], ["X-Sandbox-Namespace", nsA], ...headers]
                  : headers,
            };
          } else if ("method" in input) {
            req = { method: input.method, target: input.target.replace("/A/", `/${nsA}/`), headers: [["Authorization", alice]] };
          } else {
            req = {
              method: "GET",
              target: Buffer.from(`/sandboxes/${nsA}/mine/v1/files/${input.junk}`, "utf8").toString("latin1"),
              headers: [["Authorization", alice]],
            };
          }
          const res = await rawRequest(port, req);
          const what = JSON.stringify(input).slice(0, 200);
          expectAnswer(res, what, false);
          if (!("junk" in input)) expect(res.status, what).toBeGreaterThanOrEqual(400);
        },
      ),
      { seed: 0x5eed11, numRuns: 200 },
    );
    console.log(`router fuzz transport: ${runs} requests`);
    const health = await rawRequest(port, { method: "GET", target: "/healthz" });
    expect(health.status).toBe(200);
  });
});
