// `npm run soak`: the fault scenarios of test/integration/faults in rounds, with larger numbers
// than the tests, on one real control plane of its own (etcd, kube-apiserver, KCM, scheduler,
// kwok) with the compiled operator as separate processes. Bounded: no scenario starts once the
// time budget (--minutes, default 12) is spent. Writes bench/results/soak.json: faults injected
// and survived by kind, invariant checks run, violations with details, takeover times, durations.
// Exits 1 when any invariant was violated.
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { describeMachine } from "./lib/machine.js";
import { kubeFor, startControlPlane } from "../test/integration/harness/control-plane.js";
import type { Violation } from "../test/integration/faults/invariants.js";
import {
  controlPlaneFaults,
  dropNamespace,
  driftRepair,
  leaderFailover,
  operatorKillChaos,
  type FaultEnv,
  type FaultResult,
  type TakeoverSample,
} from "../test/integration/faults/scenarios.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: process.env["SOAK_MINUTES"] ?? "12" },
    seed: { type: "string", default: process.env["SOAK_SEED"] ?? "20261122" },
    out: { type: "string", default: path.join(import.meta.dirname, "results", "soak.json") },
  },
});
const minutes = Number(values.minutes);
const seedBase = Number(values.seed);
if (!(minutes > 0) || !Number.isFinite(minutes)) throw new Error(`--minutes must be a positive number, got "${values.minutes}"`);
if (!Number.isInteger(seedBase)) throw new Error(`--seed must be an integer, got "${values.seed}"`);

const log = (m: string): void => console.log(`[soak] ${m}`);
const budgetMs = minutes * 60_000;
const started = Date.now();
const startedAt = new Date(started).toISOString();

interface Step {
  name: string;
  /** Rough upper estimate, to not start a step the budget cannot finish. */
  estimateMs: number;
  run(env: FaultEnv, seed: number): Promise<FaultResult>;
}

log(`starting a control plane; budget ${minutes} min, seed ${seedBase}`);
const cp = await startControlPlane({ log: (m) => log(m) });
const kube = kubeFor(cp.info.kubeconfig);
const timings = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
const steps: Step[] = [
  { name: "operator-sigkill", estimateMs: 150_000, run: (env, seed) => operatorKillChaos(env, { seed, kills: 15, claims: 40 }) },
  { name: "leader-failover", estimateMs: 150_000, run: (env, seed) => leaderFailover(env, { seed, rounds: 4, timings }) },
  { name: "drift-repair", estimateMs: 150_000, run: (env, seed) => driftRepair(env, { seed, sandboxes: 4 }) },
  { name: "control-plane", estimateMs: 200_000, run: (env, seed) => controlPlaneFaults(env, cp, { seed, claims: 24 }) },
];

const results: FaultResult[] = [];
const env: FaultEnv = {
  kube,
  kubeconfig: cp.info.kubeconfig,
  logDir: path.join(tmpdir(), "agent-sandbox-soak"),
  log,
  settleTimeoutMs: 120_000,
};
let round = 0;
let stopReason = "time budget spent";
try {
  outer: for (;;) {
    for (const step of steps) {
      const left = budgetMs - (Date.now() - started);
      if (left < step.estimateMs) break outer;
      const seed = seedBase + round * 100 + steps.indexOf(step);
      log(`round ${round}: ${step.name} (seed ${seed}, ${Math.round(left / 1000)} s of budget left)`);
      try {
        const r = await step.run(env, seed);
        results.push(r);
        log(
          `round ${round}: ${step.name} ${r.survived ? "survived" : "VIOLATED"} in ${Math.round(r.durationMs / 1000)} s; faults ${JSON.stringify(r.faults)}`,
        );
        await dropNamespace(kube, String(r.detail["namespace"]));
      } catch (err) {
        // A scenario that could not finish (e.g. a takeover that never came) is a finding too.
        log(`round ${round}: ${step.name} FAILED: ${String(err)}`);
        results.push({
          scenario: step.name,
          seed,
          faults: {},
          survived: false,
          invariants: {
            namespace: "",
            checks: 0,
            violations: [{ invariant: "scenario.completed", object: step.name, detail: String(err) }],
            counts: { claims: 0, sandboxes: 0, pools: 0, pods: 0, services: 0, networkPolicies: 0 },
            settleMs: 0,
            settled: false,
            polls: 0,
          },
          logs: { conflictsRetried: 0, watchRestarts: 0, reconcileErrors: 0, leaseLost: 0 },
          durationMs: 0,
          detail: { error: String(err) },
        });
      }
    }
    round++;
  }
} catch (err) {
  stopReason = `aborted: ${String(err)}`;
} finally {
  await cp.stop();
}

// Totals.
const injected: Record<string, number> = {};
const survived: Record<string, number> = {};
const violations: (Violation & { scenario: string; seed: number })[] = [];
let checks = 0;
for (const r of results) {
  for (const [kind, n] of Object.entries(r.faults)) {
    injected[kind] = (injected[kind] ?? 0) + n;
    if (r.survived) survived[kind] = (survived[kind] ?? 0) + n;
    else survived[kind] ??= 0;
  }
  checks += r.invariants.checks;
  for (const v of r.invariants.violations) violations.push({ ...v, scenario: r.scenario, seed: r.seed });
}
const takeovers = results.flatMap((r) => (r.detail["takeovers"] as TakeoverSample[] | undefined) ?? []);
// The follower judges expiry from when it saw the last renewal, and it looks every retryPeriod
// with up to 120% jitter: it may see the last renewal up to one such period late and notice the
// expiry up to one period after the lease ran out. So, from the fault: lease + 2 jittered periods.
const takeoverBoundMs = timings.leaseDurationMs + 2 * timings.retryPeriodMs * 2.2;
const sorted = takeovers.map((t) => t.takeoverMs).sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
const finished = Date.now();
const report = {
  scenario: "soak",
  description: "fault injection against the operator with invariants checked after each fault scenario settles",
  startedAt,
  finishedAt: new Date(finished).toISOString(),
  durationSeconds: Math.round((finished - started) / 1000),
  budgetMinutes: minutes,
  stopReason,
  seedBase,
  machine: describeMachine(),
  totals: {
    scenariosRun: results.length,
    scenariosSurvived: results.filter((r) => r.survived).length,
    faultsInjected: injected,
    faultsSurvived: survived,
    invariantChecks: checks,
    invariantViolations: violations.length,
    violations,
  },
  leaderTakeover: {
    timings,
    // A killed or frozen holder's lease is taken over once the follower has seen it unrenewed for
    // leaseDuration; see takeoverBoundMs. It cannot be much shorter than the lease by design.
    boundMs: takeoverBoundMs,
    samples: takeovers.length,
    minMs: sorted[0] ?? null,
    p50Ms: pct(50),
    maxMs: sorted.at(-1) ?? null,
    overBound: takeovers.filter((t) => t.takeoverMs > takeoverBoundMs).length,
    followerReconcilesBeforeTakeover: takeovers.reduce((n, t) => n + t.followerReconcilesBefore, 0),
    progressWhileHolderDown: takeovers.filter((t) => t.progressBeforeTakeover).length,
  },
  settle: {
    maxMs: Math.max(0, ...results.map((r) => r.invariants.settleMs)),
    meanMs: results.length ? Math.round(results.reduce((n, r) => n + r.invariants.settleMs, 0) / results.length) : 0,
  },
  scenarios: results.map((r) => ({
    scenario: r.scenario,
    seed: r.seed,
    survived: r.survived,
    durationSeconds: Math.round(r.durationMs / 100) / 10,
    faults: r.faults,
    invariantChecks: r.invariants.checks,
    settleMs: r.invariants.settleMs,
    violations: r.invariants.violations,
    world: r.invariants.counts,
    operatorLogs: r.logs,
    detail: r.detail,
  })),
};
await mkdir(path.dirname(values.out), { recursive: true });
await writeFile(values.out, JSON.stringify(report, null, 2) + "\n");
log(
  `wrote ${path.relative(process.cwd(), values.out)}: ${results.length} scenarios, faults ${JSON.stringify(injected)}, ${checks} invariant checks, ${violations.length} violations`,
);
process.exit(violations.length > 0 ? 1 : 0);
