// Pure helpers of sandboxctl (src/cli); the binary itself is tested in
// test/integration/router/sandboxctl.test.ts.
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import {
  ExecutionError,
  ForbiddenError,
  SandboxExpiredError,
  SandboxNotFoundError,
  TimeoutError,
  UnauthorizedError,
} from "../../../src/client/errors.js";
import { ExitCode, exitCodeOf, UsageError } from "../../../src/cli/exit-codes.js";
import { humanDuration, render, until } from "../../../src/cli/output.js";
import { parseRemote } from "../../../src/cli/remote-path.js";

describe("parseRemote", () => {
  it("recognises <id>:<path> and leaves local paths alone", () => {
    expect(parseRemote("sbx-1:data/out.csv")).toEqual({ id: "sbx-1", path: "data/out.csv" });
    expect(parseRemote("./local.txt")).toBeUndefined();
    expect(parseRemote("/abs/path")).toBeUndefined();
    expect(parseRemote("plain.txt")).toBeUndefined();
    expect(() => parseRemote("sbx-1:")).toThrow(UsageError);
  });
});

describe("render", () => {
  const rows = [
    { id: "a", n: 1 },
    { id: "longer-id", n: 22 },
  ];
  const cols = [
    { header: "ID", value: (r: { id: string }) => r.id },
    { header: "N", value: (r: { n: number }) => r.n },
  ];
  it("aligns table columns", () => {
    expect(render("table", rows, cols)).toBe("ID          N\na           1\nlonger-id   22\n");
  });
  it("prints the raw object as JSON or YAML", () => {
    expect(JSON.parse(render("json", rows, cols, { items: rows }))).toEqual({ items: rows });
    expect(parseYaml(render("yaml", rows, cols, { items: rows }))).toEqual({ items: rows });
  });
  it("describes durations", () => {
    expect(humanDuration(45_000)).toBe("45s");
    expect(humanDuration(10 * 60_000)).toBe("10m");
    expect(humanDuration(5 * 3600_000)).toBe("5h");
    expect(humanDuration(3 * 86400_000)).toBe("3d");
    expect(until("2026-01-01T00:00:00Z", Date.parse("2026-01-01T01:00:00Z"))).toBe("expired");
    expect(until(undefined)).toBe("-");
  });
});

describe("exit codes", () => {
  it("map typed errors to the documented codes", () => {
    const result = { stdout: "", stderr: "", exitCode: 1, results: [], outputFiles: [], durationMs: 0, warnings: [] };
    expect(exitCodeOf(new ExecutionError({ name: "E", message: "m", traceback: "" }, result))).toBe(ExitCode.ExecutionFailed);
    expect(exitCodeOf(new TimeoutError("t"))).toBe(ExitCode.Timeout);
    expect(exitCodeOf(new UnauthorizedError("u"))).toBe(ExitCode.Auth);
    expect(exitCodeOf(new ForbiddenError("f"))).toBe(ExitCode.Auth);
    expect(exitCodeOf(new SandboxNotFoundError("n"))).toBe(ExitCode.NotFound);
    expect(exitCodeOf(new SandboxExpiredError("e"))).toBe(ExitCode.Unavailable);
    expect(exitCodeOf(new UsageError("x"))).toBe(ExitCode.Usage);
    expect(exitCodeOf(new Error("boom"))).toBe(ExitCode.Error);
  });
});
