// What each request carries for each credential kind: a token file is read again when it
// rotates, exec plugins run once until a 401, and impersonation and basic auth become headers.
// (Requests against a real API server over TLS are in test/integration/runtime/connection.test.ts.)
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../../src/runtime/connection.js";
import type { ClusterConfig, Credential } from "../../../src/runtime/kubeconfig.js";

let dir = "";
const open: Connection[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "connection-test-"));
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

function conn(credential: Credential, over: Partial<ClusterConfig> = {}, tokenRefreshMs?: number): Connection {
  const c = connect(
    { source: "test", server: "https://api.example:6443", insecureSkipTLSVerify: false, credential, ...over },
    tokenRefreshMs === undefined ? {} : { tokenRefreshMs },
  );
  open.push(c);
  return c;
}

describe("connect", () => {
  it("sends a static token, basic auth and impersonation headers", async () => {
    expect((await conn({ type: "token", token: "abc" }).authorize()).headers).toEqual({ Authorization: "Bearer abc" });
    expect((await conn({ type: "basic", username: "u", password: "p:w" }).authorize()).headers["Authorization"]).toBe(
      `Basic ${Buffer.from("u:p:w").toString("base64")}`,
    );
    const imp = await conn({ type: "none" }, { impersonateUser: "alice", impersonateGroups: ["a", "b"] }).authorize();
    expect(imp.headers).toEqual({ "Impersonate-User": "alice", "Impersonate-Group": ["a", "b"] });
  });

  it("reads a token file again once it is older than the refresh period, and after a 401", async () => {
    const file = path.join(dir, "token");
    writeFileSync(file, "first\n");
    const rotating = conn({ type: "tokenFile", path: file }, {}, 0);
    expect((await rotating.authorize()).headers["Authorization"]).toBe("Bearer first");
    writeFileSync(file, "second\n");
    expect((await rotating.authorize()).headers["Authorization"]).toBe("Bearer second");

    writeFileSync(file, "cached\n");
    const slow = conn({ type: "tokenFile", path: file }, {}, 3_600_000);
    expect((await slow.authorize()).headers["Authorization"]).toBe("Bearer cached");
    writeFileSync(file, "rotated\n");
    expect((await slow.authorize()).headers["Authorization"]).toBe("Bearer cached");
    slow.unauthorized();
    expect((await slow.authorize()).headers["Authorization"]).toBe("Bearer rotated");
  });

  it("keeps the last token when the file cannot be read again, and names the file when it never could", async () => {
    const file = path.join(dir, "token");
    writeFileSync(file, "kept");
    const c = conn({ type: "tokenFile", path: file }, {}, 0);
    expect((await c.authorize()).headers["Authorization"]).toBe("Bearer kept");
    writeFileSync(file, "");
    expect((await c.authorize()).headers["Authorization"]).toBe("Bearer kept");
    await expect(conn({ type: "tokenFile", path: path.join(dir, "missing") }).authorize()).rejects.toThrow(
      /cannot read the token file .*missing/,
    );
  });

  it("runs an exec plugin once and again after a 401", async () => {
    const script = path.join(dir, "plugin.sh");
    writeFileSync(
      script,
      `#!/bin/sh\necho run >> "${dir}/count"\nn=$(wc -l < "${dir}/count" | tr -d ' ')\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s"}}' "$n"\n`,
    );
    chmodSync(script, 0o755);
    const c = conn({
      type: "exec",
      exec: { command: script, args: [], env: [], apiVersion: "client.authentication.k8s.io/v1", provideClusterInfo: false },
    });
    expect((await c.authorize()).headers["Authorization"]).toBe("Bearer exec-1");
    expect((await c.authorize()).headers["Authorization"]).toBe("Bearer exec-1");
    c.unauthorized();
    expect((await c.authorize()).headers["Authorization"]).toBe("Bearer exec-2");
  });

  it("builds one keep-alive TLS agent with the CA, server name, client certificate and verification setting", async () => {
    const ca = Buffer.from("CA");
    const cert = { cert: Buffer.from("CERT"), key: Buffer.from("KEY") };
    const c = conn({ type: "none" }, { ca, tlsServerName: "kubernetes.default", clientCert: cert, insecureSkipTLSVerify: true });
    const a = await c.authorize();
    const b = await c.authorize();
    expect(a.agent).toBe(b.agent);
    expect(a.agent).toBeInstanceOf(https.Agent);
    const o = (a.agent as https.Agent).options;
    expect(o).toMatchObject({
      keepAlive: true,
      ca,
      servername: "kubernetes.default",
      cert: cert.cert,
      key: cert.key,
      rejectUnauthorized: false,
    });
  });
});
