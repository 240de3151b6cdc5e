// Operator flags: lease timings parse as durations and reach the options; bad values are refused.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodePublicKey } from "../../../src/execd-token/index.js";
import { parseOperatorFlags } from "../../../src/operator/flags.js";

describe("operator flags: leader election timings", () => {
  it("defaults to client-go's 15s/10s/2s", () => {
    expect(parseOperatorFlags([]).leaderElectionTimings).toEqual({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });

  it("accepts seconds, milliseconds and bare seconds", () => {
    const f = parseOperatorFlags([
      "--leader-elect-lease-duration=4s",
      "--leader-elect-renew-deadline",
      "3000ms",
      "--leader-elect-retry-period=0.5",
    ]);
    expect(f.leaderElectionTimings).toEqual({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 });
  });

  it("refuses a value that is not a positive duration, naming the flag", () => {
    expect(() => parseOperatorFlags(["--leader-elect-lease-duration=soon"])).toThrow(/--leader-elect-lease-duration must be a duration/);
    expect(() => parseOperatorFlags(["--leader-elect-retry-period=0s"])).toThrow(/--leader-elect-retry-period/);
  });
});

describe("operator flags: sandbox volume sizes", () => {
  it("takes quantities and the empty string, and defaults /dev/shm to 64Mi", () => {
    const f = parseOperatorFlags(["--workspace-size-limit=10Gi", "--tmp-size-limit=", "--shm-size-limit", "1G"]);
    expect(f.config).toMatchObject({ workspaceSizeLimit: "10Gi", tmpSizeLimit: "", shmSizeLimit: "1G" });
    expect(parseOperatorFlags([]).config.shmSizeLimit).toBe("64Mi");
  });

  it("refuses a size that is not a quantity, naming the flag and the value", () => {
    expect(() => parseOperatorFlags(["--shm-size-limit=64MB"])).toThrow(/--shm-size-limit: "64MB" is not a Kubernetes quantity/);
    expect(() => parseOperatorFlags(["--workspace-size-limit=lots"])).toThrow(/--workspace-size-limit: "lots"/);
  });
});

describe("operator flags: the execution servers' trusted token keys", () => {
  it("trust no key by default (new execution servers then refuse every call)", () => {
    expect(parseOperatorFlags([]).config.execdTrustedKeys).toEqual([]);
  });

  it("read every key of a PEM file: a public key, or the router's private key (its public half)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "operator-flags-"));
    const current = generateKeyPairSync("ed25519");
    const next = generateKeyPairSync("ed25519");
    const file = path.join(dir, "keys.pem");
    writeFileSync(
      file,
      `${current.privateKey.export({ type: "pkcs8", format: "pem" }).toString()}${next.publicKey.export({ type: "spki", format: "pem" }).toString()}`,
    );
    expect(parseOperatorFlags(["--execd-token-key-file", file]).config.execdTrustedKeys).toEqual([
      encodePublicKey(current.publicKey),
      encodePublicKey(next.publicKey),
    ]);
  });

  it("refuse a file without an Ed25519 key, naming it", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "operator-flags-"));
    const file = path.join(dir, "empty.pem");
    writeFileSync(file, "nothing here");
    expect(() => parseOperatorFlags(["--execd-token-key-file", file])).toThrow(/empty\.pem: no PEM block/);
  });
});
