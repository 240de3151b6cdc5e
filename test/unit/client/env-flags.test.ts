// sandboxctl create's --env and --secret-env, parsed by the real program: what reaches the
// claim's spec.env, and the errors a malformed flag gets (which never repeat a value).
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { SandboxClaimSpecSchema } from "../../../src/api/index.js";
import { buildProgram, type Io } from "../../../src/cli/program.js";
import { claimManifest } from "../../../src/shared/sandbox/claim-manifest.js";
import { parseEnvFlag, parseSecretEnvFlag } from "../../../src/shared/sandbox/claim-env-flags.js";

describe("--env and --secret-env", () => {
  it("read NAME=value (the value may hold '=') and NAME=secret/key", () => {
    expect(parseEnvFlag("MODE=a=b")).toEqual({ name: "MODE", value: "a=b" });
    expect(parseEnvFlag("EMPTY=")).toEqual({ name: "EMPTY", value: "" });
    expect(parseSecretEnvFlag("API_KEY=openai/api-key")).toEqual({
      name: "API_KEY",
      valueFrom: { secretKeyRef: { name: "openai", key: "api-key" } },
    });
  });

  it("put both kinds into the claim's spec.env, which the claim schema accepts", () => {
    const claim = claimManifest(
      { namespace: "ns", warmPool: "pool", ttlSeconds: 60, env: [parseEnvFlag("A=1"), parseSecretEnvFlag("B=s/k")] },
      Date.parse("2026-01-01T00:00:00Z"),
    );
    expect(SandboxClaimSpecSchema.parse(claim.spec).env).toEqual([
      { name: "A", value: "1" },
      { name: "B", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
    ]);
    expect(claimManifest({ namespace: "ns", warmPool: "pool", ttlSeconds: 60 }, 0).spec.env).toBeUndefined();
  });

  it.each([
    ["--env", "NOEQUALS", "expects NAME=..."],
    ["--env", "1ABC=x", '"1ABC" is not a variable name'],
    ["--env", "A-B=x", '"A-B" is not a variable name'],
    ["--secret-env", "K=no-slash", "expected K=<secret>/<key>"],
    ["--secret-env", "K=Upper/key", "expected K=<secret>/<key>"],
    ["--secret-env", "K=secret/", "expected K=<secret>/<key>"],
    ["--secret-env", "K=/key", "expected K=<secret>/<key>"],
  ])("refuse %s %s as a usage error, naming the problem", async (flag, value, message) => {
    const stderr = new PassThrough();
    let err = "";
    stderr.on("data", (c: Buffer) => (err += c.toString()));
    const io: Io = {
      stdin: new PassThrough(),
      stdout: new PassThrough(),
      stderr: stderr as unknown as NodeJS.WriteStream,
      env: {},
      exitCode: 0,
    };
    const program = buildProgram(io);
    await expect(program.parseAsync(["create", "--template", "t", flag, value], { from: "user" })).rejects.toMatchObject({
      code: "commander.invalidArgument",
    });
    expect(err).toContain(message);
  });

  it("never repeats what follows NAME= in a --secret-env error (it may be a value typed by mistake)", () => {
    expect(() => parseSecretEnvFlag("TOKEN=sk-live-abcdef")).toThrow(/TOKEN/);
    expect(() => parseSecretEnvFlag("TOKEN=sk-live-abcdef")).not.toThrow(/sk-live/);
  });
});
