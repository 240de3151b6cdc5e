import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { resourceAttributes } from "../../../src/router/auth.js";
import { downstreamResponseHeaders, upstreamRequestHeaders } from "../../../src/router/proxy.js";
import { fromHeaders, fromPath } from "../../../src/router/proxy-route.js";
import { looksScoped, SCOPED_TOKEN_ISSUER, ScopedTokens } from "../../../src/router/scoped-token.js";
import { toShutdownTime } from "../../../src/api/index.js";
import { parseSelector } from "../../../src/router/management-api.js";
import { RouterError } from "../../../src/router/errors.js";

const KEY = Buffer.alloc(32, 1);

function request(url: string, headers: Record<string, string>): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.headers = headers;
  return req;
}

const claimX = { namespace: "ns", name: "x", boundTo: { kind: "claim", uid: "uid-claim-x" } } as const;

describe("scoped tokens", () => {
  it("round-trip their sandbox, bound by uid, and are recognised as ours", async () => {
    const tokens = new ScopedTokens(KEY);
    const { token, expiresAt } = await tokens.sign(
      { namespace: "ns", name: "sbx-1", boundTo: { kind: "sandbox", uid: "uid-1" } },
      600,
      Date.parse("2030-01-01T00:00:00Z"),
    );
    expect(expiresAt).toBe("2030-01-01T00:10:00.000Z");
    expect(looksScoped(token)).toBe(true);
    expect(await tokens.verify(token)).toEqual({ namespace: "ns", name: "sbx-1", boundTo: { kind: "sandbox", uid: "uid-1" } });
    expect(decodeJwt((await tokens.sign(claimX, 600)).token)).toMatchObject({ ns: "ns", name: "x", claim_uid: "uid-claim-x" });
    expect(await tokens.verify((await tokens.sign(claimX, 600)).token)).toEqual(claimX);
  });

  it("are rejected with another key or after expiry", async () => {
    const token = (await new ScopedTokens(Buffer.alloc(32, 2)).sign(claimX, 600)).token;
    await expect(new ScopedTokens(KEY).verify(token)).rejects.toThrow(/signature/);
    const old = (await new ScopedTokens(KEY).sign(claimX, 10, Date.now() - 60_000)).token;
    await expect(new ScopedTokens(KEY).verify(old)).rejects.toThrow(/exp/);
  });

  it("are refused when bound to no uid (an older router's name-only token) or to two", async () => {
    const unsigned = (payload: Record<string, unknown>) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(SCOPED_TOKEN_ISSUER)
        .setAudience("sandbox")
        .setExpirationTime("10m")
        .sign(KEY);
    await expect(new ScopedTokens(KEY).verify(await unsigned({ ns: "ns", name: "x" }))).rejects.toThrow(/not bound to one sandbox's uid/);
    await expect(new ScopedTokens(KEY).verify(await unsigned({ ns: "ns", name: "x", claim_uid: "" }))).rejects.toThrow(/not bound/);
    await expect(new ScopedTokens(KEY).verify(await unsigned({ ns: "ns", name: "x", claim_uid: "a", sandbox_uid: "b" }))).rejects.toThrow(
      /not bound/,
    );
    await expect(new ScopedTokens(KEY).sign({ namespace: "ns", name: "x", boundTo: { kind: "claim", uid: "" } }, 60)).rejects.toThrow(
      /without its claim uid/,
    );
  });

  it("are told apart from Kubernetes tokens (other issuers, opaque strings)", async () => {
    const sa = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer("https://kubernetes.default.svc").sign(KEY);
    expect(looksScoped(sa)).toBe(false);
    expect(looksScoped("abc123")).toBe(false);
  });

  it("refuse a short key", () => {
    expect(() => new ScopedTokens(Buffer.alloc(8))).toThrow(/at least 32 bytes/);
  });
});

describe("forwarded headers", () => {
  it("drop the client's credentials, routing headers, cookies and hop-by-hop headers, and add the sandbox token", () => {
    const req = request("/v1/execute", {
      authorization: "Bearer client",
      cookie: "a=b",
      connection: "keep-alive, x-private",
      "x-private": "1",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      "x-sandbox-id": "s",
      "x-sandbox-namespace": "n",
      "x-sandbox-port": "8888",
      "content-type": "application/json",
      accept: "application/x-ndjson",
      host: "router:8080",
    });
    const out = upstreamRequestHeaders(req, { host: "10.0.0.7", port: 8888, path: "/", execdToken: "pod-secret" });
    expect(out).toMatchObject({
      authorization: "Bearer pod-secret",
      host: "10.0.0.7:8888",
      "content-type": "application/json",
      accept: "application/x-ndjson",
      "x-forwarded-host": "router:8080",
    });
    for (const gone of [
      "cookie",
      "connection",
      "x-private",
      "keep-alive",
      "transfer-encoding",
      "x-sandbox-id",
      "x-sandbox-namespace",
      "x-sandbox-port",
    ])
      expect(out[gone]).toBeUndefined();
    const noToken = upstreamRequestHeaders(req, { host: "fd00::1", port: 9000, path: "/" });
    expect(noToken.authorization).toBeUndefined();
    expect(noToken.host).toBe("[fd00::1]:9000");
  });

  it("pass response headers except hop-by-hop ones", () => {
    expect(
      downstreamResponseHeaders({
        "content-type": "application/x-ndjson",
        connection: "close",
        "transfer-encoding": "chunked",
        "x-a": "1",
      }),
    ).toEqual({ "content-type": "application/x-ndjson", "x-a": "1" });
  });
});

describe("targets", () => {
  it("follow upstream's header contract with its defaults", () => {
    expect(fromHeaders(request("/execute?x=1", { "x-sandbox-id": "my-sb" }), { namespace: "default", port: 8888 })).toEqual({
      namespace: "default",
      id: "my-sb",
      port: 8888,
      path: "/execute?x=1",
    });
    expect(
      fromHeaders(request("/", { "x-sandbox-id": "a.b", "x-sandbox-namespace": "team", "x-sandbox-port": "9000" }), {
        namespace: "default",
        port: 8888,
      }),
    ).toMatchObject({ namespace: "team", id: "a.b", port: 9000 });
  });

  it("come from /sandboxes/{namespace}/{name}/<rest> paths", () => {
    expect(fromPath(request("/sandboxes/ns/sb/v1/files/a%20b.txt?recursive=true", {}), { port: 8888 })).toEqual({
      namespace: "ns",
      id: "sb",
      port: 8888,
      path: "/v1/files/a%20b.txt?recursive=true",
    });
    expect(fromPath(request("/sandboxes/ns/sb", {}), { port: 8888 }).path).toBe("/");
  });

  it("reject malformed names and ports with 400", () => {
    const bad = [
      () => fromHeaders(request("/", { "x-sandbox-id": "" }), { namespace: "default", port: 8888 }),
      () => fromHeaders(request("/", { "x-sandbox-id": "UPPER" }), { namespace: "default", port: 8888 }),
      () => fromHeaders(request("/", { "x-sandbox-id": "ok", "x-sandbox-namespace": "a.b" }), { namespace: "default", port: 8888 }),
      () => fromHeaders(request("/", { "x-sandbox-id": "ok", "x-sandbox-port": "0" }), { namespace: "default", port: 8888 }),
      () => fromPath(request("/sandboxes/ns/bad_name/x", {}), { port: 8888 }),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RouterError);
      expect((err as RouterError).status).toBe(400);
    }
  });
});

describe("authorization attributes", () => {
  it("ask for create on sandboxes/exec for running code, and claim verbs for management", () => {
    expect(
      resourceAttributes({
        kind: "exec",
        namespace: "ns",
        requestedName: "c",
        target: { sandbox: { name: "pool-x", uid: "u1" }, claim: { name: "c", uid: "u2" } },
      }),
    ).toEqual({
      namespace: "ns",
      verb: "create",
      group: "agents.x-k8s.io",
      resource: "sandboxes",
      subresource: "exec",
      name: "pool-x",
    });
    expect(resourceAttributes({ kind: "exec", namespace: "ns", requestedName: "c", target: {} }).name).toBe("c");
    expect(resourceAttributes({ kind: "claim", verb: "list", namespace: "ns" })).toEqual({
      namespace: "ns",
      verb: "list",
      group: "extensions.agents.x-k8s.io",
      resource: "sandboxclaims",
    });
    // Suspend / resume patch the bound Sandbox (warm-adopted: not the claim's name).
    expect(
      resourceAttributes({
        kind: "sandbox",
        verb: "patch",
        namespace: "ns",
        requestedName: "c",
        target: { sandbox: { name: "pool-x", uid: "u1" }, claim: { name: "c", uid: "u2" } },
      }),
    ).toEqual({ namespace: "ns", verb: "patch", group: "agents.x-k8s.io", resource: "sandboxes", name: "pool-x" });
    expect(resourceAttributes({ kind: "sandbox", verb: "patch", namespace: "ns", requestedName: "c", target: {} }).name).toBe("c");
    expect(resourceAttributes({ kind: "pool", verb: "scale", namespace: "ns", name: "p" })).toMatchObject({
      verb: "update",
      resource: "sandboxwarmpools",
      subresource: "scale",
      name: "p",
    });
  });
});

describe("small helpers", () => {
  it("round shutdown times up to whole seconds", () => {
    expect(toShutdownTime(Date.parse("2026-01-01T00:00:00.001Z"))).toBe("2026-01-01T00:00:01Z");
    expect(toShutdownTime(Date.parse("2026-01-01T00:00:00.000Z"))).toBe("2026-01-01T00:00:00Z");
  });

  it("parse equality label filters and reject the rest", () => {
    expect(parseSelector("a=1, b = 2,c==3")).toEqual({ a: "1", b: "2", c: "3" });
    expect(parseSelector("")).toEqual({});
    expect(() => parseSelector("novalue")).toThrow(/key=value/);
  });
});
