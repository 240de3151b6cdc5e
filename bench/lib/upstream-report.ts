// Turning the `upstream` benchmark's per-run samples into its report: percentiles per
// controller over all runs of a measurement, the ratio ours/upstream at each percentile, and
// how far that ratio moves between rounds (each round runs ours then upstream's).
import { readFileSync } from "node:fs";
import { round1 } from "./local-cluster.js";
import { summarize, type Summary } from "./stats.js";

export type ControllerName = "ours" | "upstream";

/** One measurement's samples from one run: which controller, which round. */
export interface RunSamples {
  controller: ControllerName;
  round: number;
  samples: number[];
}

const PERCENTILES = ["p50", "p90", "p99", "max"] as const;
type Percentile = (typeof PERCENTILES)[number];

export interface Comparison {
  ours: Summary;
  upstream: Summary;
  /** ours / upstream at each percentile, over all rounds' samples together. */
  ratio: Record<Percentile, number>;
  /** ours / upstream at each percentile within each round that has both, and their range. */
  perRound: Array<{ round: number } & Record<Percentile, number>>;
  spread: Record<Percentile, { min: number; max: number }>;
}

const ratioOf = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

export function compare(runs: RunSamples[]): Comparison | null {
  const of = (c: ControllerName, round?: number): number[] =>
    runs.filter((r) => r.controller === c && (round === undefined || r.round === round)).flatMap((r) => r.samples);
  const ours = of("ours");
  const upstream = of("upstream");
  if (ours.length === 0 || upstream.length === 0) return null;
  const o = summarize(ours, "ms");
  const u = summarize(upstream, "ms");
  const ratio = Object.fromEntries(PERCENTILES.map((p) => [p, ratioOf(o[p], u[p])])) as Record<Percentile, number>;
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const perRound = rounds.flatMap((round) => {
    const ro = of("ours", round);
    const ru = of("upstream", round);
    if (ro.length === 0 || ru.length === 0) return [];
    const so = summarize(ro, "ms");
    const su = summarize(ru, "ms");
    return [{ round, ...(Object.fromEntries(PERCENTILES.map((p) => [p, ratioOf(so[p], su[p])])) as Record<Percentile, number>) }];
  });
  const spread = Object.fromEntries(
    PERCENTILES.map((p) => [p, { min: Math.min(...perRound.map((r) => r[p])), max: Math.max(...perRound.map((r) => r[p])) }]),
  ) as Record<Percentile, { min: number; max: number }>;
  return { ours: o, upstream: u, ratio, perRound, spread };
}

/** Console rows: per controller p50/p90/p99/max, then the ratio with its per-round range. */
export function comparisonRows(label: string, c: Comparison | null): Array<Array<string | number>> {
  if (!c) return [[label, "(no pair of runs)", "", "", "", "", ""]];
  const row = (who: string, s: Summary): Array<string | number> => [
    `${label}: ${who}`,
    s.count,
    round1(s.p50),
    round1(s.p90),
    round1(s.p99),
    round1(s.max),
    "",
  ];
  const range = (p: Percentile): string => `${c.ratio[p]}x (${c.spread[p].min}-${c.spread[p].max})`;
  return [
    row("ours", c.ours),
    row("upstream", c.upstream),
    [`${label}: ours/upstream`, "", range("p50"), range("p90"), range("p99"), range("max"), ""],
  ];
}

export const COMPARISON_HEADER = ["", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", ""];

/** One run as the report's JSON keeps it (`runs`), and as an earlier report is read back. */
export interface RunData {
  controller: ControllerName;
  round: number;
  measurement: string;
  namespace: string;
  seconds: number;
  error: string | null;
  /** Create call -> Ready event of each claim, and whether its Sandbox came from the pool. */
  toReadyMs?: number[];
  warm?: boolean[];
  warmClaims?: number;
  coldClaims?: number;
  distinctSandboxes?: number;
  /** Sequential claims: Ready unclaimed members when each claim was created. */
  readyMembersAtClaim?: number[];
  /** Bursts: first create call -> last Ready; pool create -> all members / each member Ready. */
  burstAllReadyMs?: number;
  poolAllReadyMs?: number;
  poolMemberReadyMs?: number[];
  podContainers?: string[];
}

export type SeriesName =
  "sequential" | "burstCold" | "burstCold_warmClaims" | "burstCold_coldClaims" | "burstWarm" | "poolFill" | "poolFill50";

/** The sample series the report compares, each as per-run samples. */
export function seriesOf(runs: RunData[]): Record<SeriesName, RunSamples[]> {
  const of = (measurement: string, pick: (r: RunData) => number[] | undefined): RunSamples[] =>
    runs.flatMap((r) => {
      const samples = r.measurement === measurement && !r.error ? pick(r) : undefined;
      return samples && samples.length > 0 ? [{ controller: r.controller, round: r.round, samples }] : [];
    });
  const split =
    (warm: boolean) =>
    (r: RunData): number[] | undefined =>
      r.warm && r.toReadyMs ? r.toReadyMs.filter((_, i) => r.warm?.[i] === warm) : undefined;
  return {
    sequential: of("sequential", (r) => r.toReadyMs),
    burstCold: of("burst-cold", (r) => r.toReadyMs),
    burstCold_warmClaims: of("burst-cold", split(true)),
    burstCold_coldClaims: of("burst-cold", split(false)),
    burstWarm: of("burst-warm", (r) => r.toReadyMs),
    poolFill: of("burst-cold", (r) => r.poolMemberReadyMs),
    poolFill50: of("burst-warm", (r) => r.poolMemberReadyMs),
  };
}

/**
 * An earlier report to add rounds to (BENCH_UPSTREAM_PREVIOUS): on a small machine one round
 * can be run at a time. Its sizes must be the ones of this run, or the samples do not compare.
 */
export function readPrevious(
  file: string | undefined,
  sizes: unknown,
): { file: string | null; runs: RunData[]; upstreamCpuSecondsPerTurn: number[] } {
  if (!file) return { file: null, runs: [], upstreamCpuSecondsPerTurn: [] };
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    results?: { config?: Record<string, unknown>; runs?: RunData[]; upstreamCpuSecondsPerTurn?: number[] };
  };
  const cfg = report.results?.config ?? {};
  const theirs = JSON.stringify([cfg["sequential"], cfg["burstCold"], cfg["burstWarm"], cfg["execd"]]);
  if (theirs !== JSON.stringify(sizes))
    throw new Error(`${file} was measured with other sizes (${theirs}) than this run (${JSON.stringify(sizes)})`);
  return { file, runs: report.results?.runs ?? [], upstreamCpuSecondsPerTurn: report.results?.upstreamCpuSecondsPerTurn ?? [] };
}
