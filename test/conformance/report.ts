// The tier's report: one row per upstream test (subtests indented under their test), the
// tests that cannot run here with their reasons, and the counts. Pure formatting.
import { topLevelName, type GoTestResult } from "./go-test-output.js";
import type { NotRunnable } from "./upstream-plan.js";

/** One upstream binary's run. A test the plan runs that skips itself counts as failed. */
export interface BinaryRun {
  binary: string;
  results: GoTestResult[];
  /** Wall time of the binary. */
  seconds: number;
}

export interface Counts {
  passed: number;
  failed: number;
  notRunnable: number;
}

/** A top-level test fails when it, or any of its subtests, failed or skipped by itself. */
export function topLevelOutcomes(run: BinaryRun): Map<string, "pass" | "fail"> {
  const out = new Map<string, "pass" | "fail">();
  for (const r of run.results) {
    const top = topLevelName(r.name);
    const bad = r.status !== "pass";
    out.set(top, out.get(top) === "fail" || bad ? "fail" : "pass");
  }
  return out;
}

export function countOutcomes(runs: readonly BinaryRun[], notRunnable: readonly NotRunnable[]): Counts {
  let passed = 0;
  let failed = 0;
  for (const run of runs) {
    for (const outcome of topLevelOutcomes(run).values()) {
      if (outcome === "pass") passed++;
      else failed++;
    }
  }
  return { passed, failed, notRunnable: notRunnable.length };
}

function statusWord(r: GoTestResult): string {
  if (r.status === "skip") return "FAIL (skipped itself)";
  return r.status.toUpperCase();
}

/** The result table as lines. */
export function resultTable(runs: readonly BinaryRun[], notRunnable: readonly NotRunnable[]): string[] {
  const lines: string[] = [];
  const rows: [string, string, string, string][] = [];
  for (const run of runs) {
    for (const r of run.results) {
      const depth = r.name.split("/").length - 1;
      const label = depth ? `${"  ".repeat(depth)}${r.name.slice(r.name.lastIndexOf("/") + 1)}` : r.name;
      rows.push([run.binary, label, statusWord(r), r.seconds === undefined ? "-" : `${r.seconds.toFixed(1)}s`]);
    }
  }
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ["binary", "test", "result", "time"][i]!.length));
  const fmt = (row: readonly string[]): string =>
    row
      .map((c, i) => c.padEnd(w[i]!))
      .join("  ")
      .trimEnd();
  lines.push(fmt(["binary", "test", "result", "time"]), fmt(w.map((n) => "-".repeat(n))));
  for (const row of rows) lines.push(fmt(row));
  if (notRunnable.length) {
    lines.push("", "Not runnable on the local cluster:");
    for (const n of notRunnable) lines.push(`  ${n.binary}  ${n.name}: ${n.reason}`);
  }
  return lines;
}

/** Output of each failed test or subtest (the tail), for the log. */
export function failureDetails(runs: readonly BinaryRun[], tailLines = 40): string[] {
  const lines: string[] = [];
  for (const run of runs) {
    for (const r of run.results) {
      if (r.status === "pass") continue;
      lines.push(`----- ${run.binary} ${r.name}: ${statusWord(r)}${r.note ? ` (${r.note})` : ""}`);
      lines.push(...r.output.slice(-tailLines));
    }
  }
  return lines;
}
