/**
 * Charts for benchmark results, written as SVG next to each scenario's JSON.
 *
 * Contract: a scenario's `run(log, out)` calls `out.chart(spec)` with specs built here
 * (`latencyChart`, `lineChart`, `barChart`) from the raw samples it measured. After `run`
 * resolves, bench/run.ts writes `bench/results/<scenario>.json` (listing the chart files under
 * `charts`), then renders each spec to `bench/results/<scenario>-<spec.name>.svg`. Specs are checked when
 * they are built, so bad input (no series, an empty series, a non-finite sample, a duplicate
 * label, a name unfit for a file) fails at once with an error naming the chart and the series.
 *
 * Why vega-lite + vega rather than hand-written SVG or a canvas library: vega-lite turns a
 * short declarative spec into a full chart (axes, legend, scales, log axes, step lines), and
 * vega's headless `View.toSVG()` renders it in plain Node with no canvas or browser, so
 * nothing native needs building on a fresh machine. Both are maintained by the UW IDL and
 * widely used; they are devDependencies because only the benchmarks use them.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** A chart ready to render: its file-name suffix, its title and the vega-lite spec. */
export interface ChartSpec {
  /** File-name suffix: the chart is written to bench/results/<scenario>-<name>.svg. */
  name: string;
  title: string;
  vegaLite: TopLevelSpec;
}

export interface LatencySeries {
  label: string;
  /** Raw samples, one per operation, in `unit`. */
  samples: number[];
}

export interface XYSeries {
  label: string;
  points: Array<{ x: number; y: number }>;
}

export interface Bar {
  label: string;
  value: number;
  /** Bars with the same group share a colour (e.g. "needed" vs "created"). */
  group?: string;
}

const WIDTH = 640;
const HEIGHT = 320;
/** A CDF line needs no more points than this to look exact at 640 px; keeps SVGs small. */
const MAX_CDF_POINTS = 400;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

function fail(chart: string, message: string): never {
  throw new Error(`chart "${chart}": ${message}`);
}

function checkName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    fail(name, "name must be lower-case letters, digits and dashes (it becomes part of a file name)");
  }
}

function checkLabels(chart: string, labels: string[]): void {
  if (labels.length === 0) fail(chart, "no series given");
  const seen = new Set<string>();
  for (const label of labels) {
    if (label.trim() === "") fail(chart, "a series has an empty label");
    if (seen.has(label)) fail(chart, `duplicate series label "${label}"`);
    seen.add(label);
  }
}

function checkFinite(chart: string, label: string, values: number[]): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(chart, `series "${label}" has a non-finite value (${values[bad]}) at index ${bad}`);
}

/** Nearest-rank percentile of sorted samples (the same rule as stats.ts). */
function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const short = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/**
 * Latency distribution of several labelled series as cumulative step lines: x is latency,
 * y the fraction of operations done within it. The legend carries n, p50 and p99 per series.
 */
export function latencyChart(options: {
  name: string;
  title: string;
  series: LatencySeries[];
  unit?: string;
  /** Log x axis, for distributions spanning orders of magnitude (samples must be > 0). */
  logScale?: boolean;
}): ChartSpec {
  const { name, title, series, unit = "ms", logScale = false } = options;
  checkName(name);
  checkLabels(
    name,
    series.map((s) => s.label),
  );
  const values: Array<{ series: string; latency: number; fraction: number }> = [];
  for (const s of series) {
    if (s.samples.length === 0) fail(name, `series "${s.label}" has no samples`);
    checkFinite(name, s.label, s.samples);
    const sorted = [...s.samples].sort((a, b) => a - b);
    if (logScale && sorted[0]! <= 0) fail(name, `series "${s.label}" has a sample <= 0, which a log axis cannot show`);
    const legend = `${s.label} (n=${sorted.length}, p50 ${short(percentile(sorted, 50))}, p99 ${short(percentile(sorted, 99))} ${unit})`;
    const n = sorted.length;
    const step = Math.max(1, Math.floor(n / MAX_CDF_POINTS));
    for (let i = 0; i < n; i += step) values.push({ series: legend, latency: sorted[i]!, fraction: (i + 1) / n });
    if ((n - 1) % step !== 0) values.push({ series: legend, latency: sorted[n - 1]!, fraction: 1 });
  }
  return {
    name,
    title,
    vegaLite: {
      $schema: SCHEMA,
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: "line", interpolate: "step-after", point: false },
      encoding: {
        x: { field: "latency", type: "quantitative", title: `latency (${unit})`, scale: logScale ? { type: "log" } : { zero: true } },
        y: {
          field: "fraction",
          type: "quantitative",
          title: "fraction of operations done",
          scale: { domain: [0, 1] },
          axis: { format: "%" },
        },
        // sort: null keeps the caller's series order in the legend and colours.
        color: {
          field: "series",
          type: "nominal",
          title: null,
          sort: null,
          legend: { orient: "bottom", direction: "vertical", labelLimit: 600 },
        },
      },
    },
  };
}

/** Line (or bar) chart of y against x for several labelled series, e.g. Ready count over time. */
export function lineChart(options: {
  name: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: XYSeries[];
  /** "step" draws a staircase, for counts that change at instants. */
  interpolate?: "linear" | "step-after";
}): ChartSpec {
  const { name, title, xLabel, yLabel, series, interpolate = "linear" } = options;
  checkName(name);
  checkLabels(
    name,
    series.map((s) => s.label),
  );
  const values: Array<{ series: string; x: number; y: number }> = [];
  for (const s of series) {
    if (s.points.length === 0) fail(name, `series "${s.label}" has no points`);
    checkFinite(
      name,
      s.label,
      s.points.flatMap((p) => [p.x, p.y]),
    );
    for (const p of s.points) values.push({ series: s.label, x: p.x, y: p.y });
  }
  return {
    name,
    title,
    vegaLite: {
      $schema: SCHEMA,
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: "line", interpolate },
      encoding: {
        x: { field: "x", type: "quantitative", title: xLabel },
        y: { field: "y", type: "quantitative", title: yLabel },
        color: {
          field: "series",
          type: "nominal",
          title: null,
          sort: null,
          legend: { orient: "bottom", direction: "vertical", labelLimit: 600 },
        },
      },
    },
  };
}

/** Bars by label, optionally grouped (side by side, coloured by group), e.g. created vs needed. */
export function barChart(options: { name: string; title: string; yLabel: string; bars: Bar[] }): ChartSpec {
  const { name, title, yLabel, bars } = options;
  checkName(name);
  if (bars.length === 0) fail(name, "no bars given");
  const seen = new Set<string>();
  for (const bar of bars) {
    if (bar.label.trim() === "") fail(name, "a bar has an empty label");
    const key = `${bar.label}\u0000${bar.group ?? ""}`;
    if (seen.has(key)) fail(name, `duplicate bar "${bar.label}"${bar.group ? ` in group "${bar.group}"` : ""}`);
    seen.add(key);
    checkFinite(name, bar.label, [bar.value]);
  }
  const grouped = bars.some((b) => b.group !== undefined);
  const values = bars.map((b) => ({ label: b.label, value: b.value, group: b.group ?? "" }));
  return {
    name,
    title,
    vegaLite: {
      $schema: SCHEMA,
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: "bar" },
      encoding: {
        x: { field: "label", type: "nominal", title: null, sort: null, axis: { labelAngle: 0, labelLimit: 200 } },
        y: { field: "value", type: "quantitative", title: yLabel },
        ...(grouped
          ? {
              xOffset: { field: "group", type: "nominal", sort: null },
              color: { field: "group", type: "nominal", title: null, sort: null, legend: { orient: "bottom" } },
            }
          : {}),
      },
    },
  };
}

/** Renders a spec to a standalone SVG document, headless (no canvas, no browser). */
export async function renderChart(spec: ChartSpec): Promise<string> {
  const compiled = compile(spec.vegaLite).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
