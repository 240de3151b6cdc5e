// Exec credential plugins run for real (a shell script standing in for gke-gcloud-auth-plugin):
// what the plugin is given, caching until expirationTimestamp, 401 invalidation, and errors.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { ExecCredentialError, ExecCredentialSource, parseExecCredential } from "../../../src/runtime/exec-credential.js";
import type { ExecConfig } from "../../../src/runtime/kubeconfig.js";

const V1 = "client.authentication.k8s.io/v1";
let dir = "";

// Counts its runs in $COUNT_FILE, saves what it was given, and prints a token naming the run.
const PLUGIN = `#!/bin/sh
echo run >> "$COUNT_FILE"
n=$(wc -l < "$COUNT_FILE" | tr -d ' ')
printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"
printf '%s' "$*" > "$ARGS_FILE"
if [ -n "$FAIL" ]; then echo "credentials expired, run gcloud auth login" >&2; exit 3; fi
if [ -n "$GARBAGE" ]; then echo "not json"; exit 0; fi
printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"tok-%s"%s}}' "$n" "\${EXPIRY:+,\\"expirationTimestamp\\":\\"$EXPIRY\\"}"
`;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "exec-credential-test-"));
  writeFileSync(path.join(dir, "plugin.sh"), PLUGIN);
  chmodSync(path.join(dir, "plugin.sh"), 0o755);
});

function config(env: Record<string, string> = {}, over: Partial<ExecConfig> = {}): ExecConfig {
  const files = { COUNT_FILE: path.join(dir, "count"), INFO_FILE: path.join(dir, "info"), ARGS_FILE: path.join(dir, "args") };
  return {
    command: "./plugin.sh",
    args: ["--project", "p1"],
    env: Object.entries({ ...files, ...env }).map(([name, value]) => ({ name, value })),
    apiVersion: V1,
    provideClusterInfo: false,
    cwd: dir,
    ...over,
  };
}

const cluster = { server: "https://api.example:443", tlsServerName: "kube", insecureSkipTLSVerify: false, ca: Buffer.from("CA") };

describe("ExecCredentialSource", () => {
  it("runs the plugin with its args, env and KUBERNETES_EXEC_INFO, resolving a relative command against the kubeconfig dir", async () => {
    const src = new ExecCredentialSource(config({}, { provideClusterInfo: true }), cluster);
    expect((await src.get()).token).toBe("tok-1");
    expect(readFileSync(path.join(dir, "args"), "utf8")).toBe("--project p1");
    expect(JSON.parse(readFileSync(path.join(dir, "info"), "utf8"))).toEqual({
      apiVersion: V1,
      kind: "ExecCredential",
      spec: {
        interactive: false,
        cluster: {
          server: cluster.server,
          "tls-server-name": "kube",
          "insecure-skip-tls-verify": false,
          "certificate-authority-data": Buffer.from("CA").toString("base64"),
        },
      },
    });
  });

  it("leaves cluster info out unless provideClusterInfo is set", async () => {
    await new ExecCredentialSource(config(), cluster).get();
    expect(JSON.parse(readFileSync(path.join(dir, "info"), "utf8")).spec).toEqual({ interactive: false });
  });

  it("caches the credential until shortly before its expiry, with one run shared by concurrent callers", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const src = new ExecCredentialSource(config({ EXPIRY: "2030-01-01T01:00:00Z" }), cluster, { now: () => now });
    const first = await Promise.all([src.get(), src.get(), src.get()]);
    expect(first.map((c) => c.token)).toEqual(["tok-1", "tok-1", "tok-1"]);
    expect(first[0]?.expiresAt).toBe(Date.parse("2030-01-01T01:00:00Z"));
    now += 59 * 60_000;
    expect((await src.get()).token).toBe("tok-1");
    expect(src.runs).toBe(1);
    // Within the last 10 s before expiry the credential counts as expired.
    now = Date.parse("2030-01-01T00:59:55Z");
    expect((await src.get()).token).toBe("tok-2");
    expect(src.runs).toBe(2);
  });

  it("keeps a credential without expiry until invalidate() (a 401)", async () => {
    const src = new ExecCredentialSource(config(), cluster, { now: () => Date.now() + 365 * 86_400_000 });
    expect((await src.get()).token).toBe("tok-1");
    expect((await src.get()).token).toBe("tok-1");
    src.invalidate();
    expect((await src.get()).token).toBe("tok-2");
  });

  it("reports a failing, missing or garbled plugin by name, with its stderr and install hint", async () => {
    await expect(new ExecCredentialSource(config({ FAIL: "1" }), cluster).get()).rejects.toThrow(
      /plugin "\.\/plugin\.sh" failed \(exit code 3\): credentials expired, run gcloud auth login/,
    );
    await expect(
      new ExecCredentialSource(
        config({}, { command: "no-such-plugin-xyz", installHint: "Install it with gcloud components install" }),
        cluster,
      ).get(),
    ).rejects.toThrow(/"no-such-plugin-xyz" was not found: Install it with gcloud/);
    await expect(new ExecCredentialSource(config({ GARBAGE: "1" }), cluster).get()).rejects.toBeInstanceOf(ExecCredentialError);
  });
});

describe("parseExecCredential", () => {
  const cfg = { command: "p", apiVersion: V1 };
  const out = (status: unknown, over: Record<string, unknown> = {}): string =>
    JSON.stringify({ apiVersion: V1, kind: "ExecCredential", status, ...over });

  it("accepts a token or a client certificate pair", () => {
    expect(parseExecCredential(out({ token: "t" }), cfg)).toEqual({ token: "t", clientCert: undefined, expiresAt: undefined });
    const c = parseExecCredential(
      out({ clientCertificateData: "CERT", clientKeyData: "KEY", expirationTimestamp: "2030-01-01T00:00:00Z" }),
      cfg,
    );
    expect(c.clientCert?.cert.toString()).toBe("CERT");
    expect(c.expiresAt).toBe(Date.parse("2030-01-01T00:00:00Z"));
  });

  it("names what is wrong", () => {
    expect(() => parseExecCredential("nope", cfg)).toThrow(/did not print JSON/);
    expect(() => parseExecCredential(out({ token: "t" }, { kind: "Other" }), cfg)).toThrow(/kind is "Other"/);
    expect(() => parseExecCredential(out({ token: "t" }, { apiVersion: "client.authentication.k8s.io/v1beta1" }), cfg)).toThrow(
      /asked for "client.authentication.k8s.io\/v1"/,
    );
    expect(() => parseExecCredential(out(undefined), cfg)).toThrow(/status is missing/);
    expect(() => parseExecCredential(out({}), cfg)).toThrow(/neither a token nor/);
    expect(() => parseExecCredential(out({ token: 5 }), cfg)).toThrow(/status\.token must be a string/);
    expect(() => parseExecCredential(out({ clientCertificateData: "C" }), cfg)).toThrow(/must be set together/);
    expect(() => parseExecCredential(out({ token: "t", expirationTimestamp: "soon" }), cfg)).toThrow(
      /expirationTimestamp "soon" is not an RFC 3339 time/,
    );
  });
});
