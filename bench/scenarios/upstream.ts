// Our operator against upstream agent-sandbox's controller (the version scripts/lib/
// upstream-module.sh tracks) on the same local cluster, in one run: in each round, every
// measurement runs first with our operator (as Helm installed it), then with ours scaled to 0
// and upstream's controller running as a host process with the admin kubeconfig. Both get the
// same SandboxTemplate; see bench/lib/upstream-runs.ts for the measurements.
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { latencyChart } from "../lib/chart.js";
import { OPERATOR_NS, budget, connectLocalCluster, printTable, round1 } from "../lib/local-cluster.js";
import { ourReplicas, startOurOperator, stopOurOperator } from "../lib/our-operator.js";
import { UPSTREAM_FLAGS, startUpstreamController, upstreamControllerBinary, type UpstreamProcess } from "../lib/upstream-controller.js";
import {
  COMPARISON_HEADER,
  compare,
  comparisonRows,
  readPrevious,
  seriesOf,
  type ControllerName,
  type RunData,
  type RunSamples,
} from "../lib/upstream-report.js";
import { claimBurst, sequentialClaims, type BurstResult, type RunContext, type SequentialResult } from "../lib/upstream-runs.js";
import type { Scenario } from "../lib/scenario.js";

const MEASUREMENTS = ["sequential", "burst-cold", "burst-warm"] as const;
type Measurement = (typeof MEASUREMENTS)[number];

function wholeNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}

function config() {
  const only = (process.env["BENCH_UPSTREAM_ONLY"] ?? MEASUREMENTS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const m of only)
    if (!(MEASUREMENTS as readonly string[]).includes(m))
      throw new Error(`BENCH_UPSTREAM_ONLY: unknown measurement "${m}" (known: ${MEASUREMENTS.join(", ")})`);
  return {
    rounds: wholeNumber("BENCH_UPSTREAM_ROUNDS", 2, 1),
    measurements: only as Measurement[],
    execd: process.env["BENCH_UPSTREAM_EXECD"] === "on",
    sequential: { poolSize: 3, claims: wholeNumber("BENCH_UPSTREAM_SEQ_CLAIMS", 12, 1), warmup: 1, holdMs: 3000 },
    burstCold: {
      poolSize: wholeNumber("BENCH_UPSTREAM_COLD_POOL", 10, 1),
      claims: wholeNumber("BENCH_UPSTREAM_BURST", 50, 1),
      settleMs: 2000,
    },
    burstWarm: { poolSize: wholeNumber("BENCH_UPSTREAM_BURST", 50, 1), claims: wholeNumber("BENCH_UPSTREAM_BURST", 50, 1), settleMs: 2000 },
    budgetSeconds: wholeNumber("BENCH_UPSTREAM_BUDGET_S", 2700, 60),
  };
}

interface RunRecord {
  controller: ControllerName;
  round: number;
  measurement: Measurement;
  namespace: string;
  seconds: number;
  result?: SequentialResult | BurstResult;
  error?: string;
}

const msList = (xs: number[]): number[] => xs.map(round1);

function toRunData(r: RunRecord): RunData {
  const base: RunData = {
    controller: r.controller,
    round: r.round,
    measurement: r.measurement,
    namespace: r.namespace,
    seconds: r.seconds,
    error: r.error ?? null,
  };
  if (!r.result) return base;
  const claims = r.result.claims;
  const common = {
    ...base,
    toReadyMs: msList(claims.map((c) => c.toReadyMs)),
    warm: claims.map((c) => c.warm),
    warmClaims: claims.filter((c) => c.warm).length,
    coldClaims: claims.filter((c) => !c.warm).length,
    distinctSandboxes: new Set(claims.map((c) => c.sandbox)).size,
  };
  if (!("fill" in r.result)) return { ...common, readyMembersAtClaim: r.result.readyMembersAtClaim };
  const { fill, allReadyMs, podContainers } = r.result;
  return {
    ...common,
    podContainers,
    burstAllReadyMs: round1(allReadyMs),
    poolAllReadyMs: round1(fill.allReadyMs),
    poolMemberReadyMs: msList(fill.memberReadyMs),
  };
}

function loadPrevious(cfg: ReturnType<typeof config>): ReturnType<typeof readPrevious> {
  return readPrevious(process.env["BENCH_UPSTREAM_PREVIOUS"] || undefined, [cfg.sequential, cfg.burstCold, cfg.burstWarm, cfg.execd]);
}

export const scenario: Scenario = {
  name: "upstream",
  description:
    "local cluster (gVisor): our operator vs upstream's controller, alternating: sequential claims with refill in flight, 50-claim bursts (10-member and 50-member pools), pool fill",
  async run(log, out) {
    const cfg = config();
    const time = budget(cfg.budgetSeconds);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    const { binary, version } = upstreamControllerBinary(log);
    const replicas = await ourReplicas(kube);
    const deployment = await kube.get<KubernetesObject & { spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } } }>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: OPERATOR_NS,
      name: "agent-sandbox-controller",
    });
    const ourArgs = deployment.spec?.template?.spec?.containers?.[0]?.args ?? [];
    const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), "bench-upstream-")), "upstream-controller.log");
    log(
      `upstream ${version} controller ${binary} (log ${logFile}); our operator: ${replicas} replicas; ${cfg.rounds} rounds of ${cfg.measurements.join(", ")}; execd sidecar ${cfg.execd ? "on" : "off"}`,
    );

    const previous = loadPrevious(cfg);
    const firstRound = Math.max(0, ...previous.runs.map((r) => r.round)) + 1;
    let lastRoundMs = 0;
    const records: RunRecord[] = [];
    const upstreamCpuSeconds: number[] = [];
    let upstream: UpstreamProcess | undefined;
    let oursStopped = false;
    let current: string | undefined;
    // Interrupted (Ctrl-C, or a job's timeout), the cluster is put back as it was found: upstream's
    // controller stopped, ours scaled back; the namespace in use is deleted without waiting.
    const interrupted = (signal: NodeJS.Signals): void => {
      log(`${signal}: stopping upstream's controller and restoring our operator`);
      void (async () => {
        await upstream?.stop();
        if (oursStopped) await startOurOperator(kube, replicas);
        if (current) await kube.delete({ apiVersion: "v1", kind: "Namespace", name: current }).catch(() => undefined);
      })().finally(() => process.exit(130));
    };
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    try {
      // Also restores our operator if an interrupted run left it at 0, and proves it leads.
      await startOurOperator(kube, replicas);
      for (let round = firstRound; round < firstRound + cfg.rounds; round++) {
        // Checked per round, never between its two turns: a round is a pair or nothing.
        if (round > firstRound && time.remainingMs() < lastRoundMs * 1.2) {
          log(
            `time budget: ${Math.round(time.remainingMs() / 1000)} s left, the last round took ${Math.round(lastRoundMs / 1000)} s; stopping before round ${round}`,
          );
          break;
        }
        const roundStart = performance.now();
        for (const controller of ["ours", "upstream"] as const) {
          if (controller === "upstream") {
            await stopOurOperator(kube, replicas);
            oursStopped = true;
            upstream = await startUpstreamController(binary, cluster.kubeconfig, logFile);
            log(`round ${round}: upstream's controller running (pid ${upstream.pid}); ours scaled to 0`);
          } else if (oursStopped) {
            await startOurOperator(kube, replicas);
            oursStopped = false;
            log(`round ${round}: our operator back at ${replicas} replicas and leading`);
          }
          for (const measurement of cfg.measurements) {
            const namespace = `bench-up-${controller}-r${round}-${measurement}`;
            current = namespace;
            const ctx: RunContext = {
              kube,
              namespace,
              runtimeImage: cluster.runtimeImage,
              execd: cfg.execd,
              log: (m) => log(`[${controller} r${round} ${measurement}] ${m}`),
            };
            const started = performance.now();
            const record: RunRecord = { controller, round, measurement, namespace, seconds: 0 };
            try {
              record.result =
                measurement === "sequential"
                  ? await sequentialClaims(ctx, cfg.sequential)
                  : await claimBurst(ctx, measurement === "burst-cold" ? cfg.burstCold : cfg.burstWarm);
            } catch (err) {
              record.error = err instanceof Error ? err.message : String(err);
              ctx.log(`error: ${record.error}`);
            }
            record.seconds = round1((performance.now() - started) / 1000);
            records.push(record);
            ctx.log(`done in ${record.seconds} s${record.error ? " (failed)" : ""}`);
          }
          if (upstream) {
            upstreamCpuSeconds.push(round1(upstream.cpuSeconds()));
            await upstream.stop();
            upstream = undefined;
          }
        }
        lastRoundMs = performance.now() - roundStart;
      }
    } finally {
      process.off("SIGINT", interrupted);
      process.off("SIGTERM", interrupted);
      if (upstream) await upstream.stop();
      if (oursStopped) await startOurOperator(kube, replicas);
    }

    const runs = [...previous.runs, ...records.map(toRunData)];
    const series = seriesOf(runs);
    const comparisons = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, compare(v)]));
    printTable(log, COMPARISON_HEADER, [
      ...comparisonRows("(a) sequential claim -> Ready", comparisons["sequential"] ?? null),
      ...comparisonRows(`(b) burst of ${cfg.burstCold.claims} on pool of ${cfg.burstCold.poolSize}`, comparisons["burstCold"] ?? null),
      ...comparisonRows(`(c) burst of ${cfg.burstWarm.claims} on pool of ${cfg.burstWarm.poolSize}`, comparisons["burstWarm"] ?? null),
      ...comparisonRows(`(d) pool of ${cfg.burstCold.poolSize}: member Ready`, comparisons["poolFill"] ?? null),
    ]);

    const label = (c: ControllerName): string => (c === "ours" ? "ours" : `upstream ${version}`);
    const chart = (name: string, title: string, runs: RunSamples[], logScale: boolean): void => {
      const s = (["ours", "upstream"] as const)
        .map((c) => ({ label: label(c), samples: runs.filter((r) => r.controller === c).flatMap((r) => r.samples) }))
        .filter((x) => x.samples.length > 0);
      if (s.length > 0) out.chart(latencyChart({ name, title, series: s, logScale }));
    };
    chart("sequential", `(a) sequential claims, refill in flight: claim -> Ready`, series.sequential, false);
    chart(
      "burst-cold",
      `(b) ${cfg.burstCold.claims} claims at once on a pool of ${cfg.burstCold.poolSize}: claim -> Ready`,
      series.burstCold,
      true,
    );
    chart(
      "burst-warm",
      `(c) ${cfg.burstWarm.claims} claims at once on a pool of ${cfg.burstWarm.poolSize}: claim -> Ready`,
      series.burstWarm,
      true,
    );
    chart("pool-fill", `(d) pool of ${cfg.burstCold.poolSize} from zero: pool create -> each member Ready`, series.poolFill, false);

    return {
      method:
        "Each round runs every measurement with our operator (the Helm Deployment, leading), then with it scaled to 0 (pods gone) and " +
        `upstream's ${version} controller as a host process (${UPSTREAM_FLAGS.join(" ")}, admin kubeconfig), killed afterwards; ours is then scaled back and waited Ready and leading. ` +
        "Each run uses a fresh namespace (deleted and waited for before the next run) with the same SandboxTemplate: the main container (10m CPU) under the gvisor RuntimeClass" +
        (cfg.execd
          ? "; our operator adds its execd sidecar (100m CPU, readiness on execd), upstream adds nothing. "
          : " and the annotation that turns off our operator's execd sidecar, so both controllers run identical pods. ") +
        "Times start just before each create call and end at the arrival of the watch event showing Ready=True (the bench's own informer). " +
        "(a) pool of 3 Ready, 1 unrecorded warm-up claim, then claims one at a time; 3 s after each Ready the claim and its Sandbox are deleted and the next claim is created at once, so the refill is in flight. " +
        "(b) a pool filled from zero, 2 s settle, then all claims created at once (more claims than members: the rest start cold); (c) the same on a pool as large as the burst. " +
        "(d) is (b)'s pool fill: pool create call -> each member's first Ready event. After a burst the pool is scaled to 0. " +
        "Ratios are ours/upstream over all rounds' samples; spread is the range of the same ratio computed within each round.",
      config: { ...cfg, upstreamVersion: version, upstreamFlags: UPSTREAM_FLAGS, ourOperatorReplicas: replicas, ourOperatorArgs: ourArgs },
      comparisons,
      upstreamCpuSecondsPerTurn: [...previous.upstreamCpuSecondsPerTurn, ...upstreamCpuSeconds],
      previousResults: previous.file ? path.basename(previous.file) : null,
      errors: runs.filter((r) => r.error).map((r) => `${r.controller} r${r.round} ${r.measurement}: ${r.error}`),
      runs,
      durationSeconds: time.elapsedSeconds(),
    };
  },
};
