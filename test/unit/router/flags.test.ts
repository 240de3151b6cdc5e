import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { keyId } from "../../../src/execd-token/index.js";
import { defaultRouterConfig } from "../../../src/router/config.js";
import { parseRouterFlags } from "../../../src/router/flags.js";

describe("router flags", () => {
  it("default to upstream's contract and a one-hour TTL", () => {
    const f = parseRouterFlags([], {});
    // The console is served from the build beside the router's code unless told otherwise.
    expect(f.config).toEqual({ ...defaultRouterConfig, consoleDir: expect.stringMatching(/\/console\/$/) });
    expect(f.config.defaultTtlSeconds).toBe(3600);
    expect(f.config.maxTtlSeconds).toBe(14 * 24 * 3600);
    expect(f.config.execPort).toBe(8888);
    expect(f.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(f.signingKey).toBeUndefined();
  });

  it("read the signing key from a file or the environment, refusing short keys", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "router-flags-"));
    const file = path.join(dir, "key");
    writeFileSync(file, "k".repeat(40));
    expect(parseRouterFlags(["--signing-key-file", file], {}).signingKey?.length).toBe(40);
    expect(parseRouterFlags([], { ROUTER_SIGNING_KEY: "e".repeat(32) }).signingKey?.length).toBe(32);
    expect(() => parseRouterFlags([], { ROUTER_SIGNING_KEY: "short" })).toThrow(/at least 32 bytes/);
  });

  it("read the execution-server signing key (Ed25519 PEM), refusing other keys and naming the file", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "router-flags-"));
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const file = path.join(dir, "execd.pem");
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }));
    const key = parseRouterFlags(["--execd-signing-key-file", file], {}).execdSigningKey;
    expect(key && keyId(key)).toBe(keyId(publicKey));
    expect(parseRouterFlags([], {}).execdSigningKey).toBeUndefined();
    const ec = path.join(dir, "ec.pem");
    writeFileSync(ec, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    expect(() => parseRouterFlags(["--execd-signing-key-file", ec], {})).toThrow(/ec\.pem: .*Ed25519/);
  });

  it("set how long calls wait for a restarting sandbox and for a connection", () => {
    expect(defaultRouterConfig).toMatchObject({ restartWaitMs: 5000, connectTimeoutMs: 3000 });
    expect(parseRouterFlags(["--restart-wait", "20000", "--connect-timeout", "500"], {}).config).toMatchObject({
      restartWaitMs: 20_000,
      connectTimeoutMs: 500,
    });
    expect(() => parseRouterFlags(["--connect-timeout", "0"], {})).toThrow(/--connect-timeout must be a whole number/);
  });

  it("reject bad numbers and a default TTL over the cap", () => {
    expect(() => parseRouterFlags(["--max-ttl", "-5"], {})).toThrow(/--max-ttl must be a whole number/);
    expect(() => parseRouterFlags(["--listen", "nope"], {})).toThrow(/host:port/);
    expect(() => parseRouterFlags(["--default-ttl", "100", "--max-ttl", "50"], {})).toThrow(/exceeds --max-ttl/);
  });

  it("serve the web console from another directory, or not at all", () => {
    expect(parseRouterFlags(["--console-dir", "/srv/console"], {}).config.consoleDir).toBe("/srv/console");
    expect(parseRouterFlags(["--no-console"], {}).config.consoleDir).toBeUndefined();
  });
});
