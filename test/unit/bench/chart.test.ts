import { describe, expect, it } from "vitest";
import { barChart, latencyChart, lineChart, renderChart } from "../../../bench/lib/chart.js";

/** Every start tag is closed in order and the document is one <svg> element: enough to call it well-formed here. */
function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, tag, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(tag);
    else stack.push(tag!);
  }
  expect(stack).toEqual([]);
  // Text and attributes carry no raw ampersands (a common way to break XML).
  expect(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(svg)).toBe(false);
}

describe("latencyChart", () => {
  it("renders every series' label, with its count and percentiles, as a well-formed SVG", async () => {
    const fast = Array.from({ length: 1000 }, (_, i) => 1 + (i % 50));
    const slow = Array.from({ length: 30 }, (_, i) => 100 + i * 10);
    const svg = await renderChart(
      latencyChart({
        name: "claims",
        title: "Claim -> Ready",
        series: [
          { label: "warm pool", samples: fast },
          { label: "cold & empty", samples: slow },
        ],
        logScale: true,
      }),
    );
    expectWellFormedSvg(svg);
    expect(svg).toContain("Claim -&gt; Ready");
    expect(svg).toContain("warm pool (n=1000, p50 25.0, p99 50.0 ms)");
    expect(svg).toContain("cold &amp; empty (n=30");
  });

  it("keeps large series to a few hundred points but ends each at its maximum", () => {
    const samples = Array.from({ length: 100_001 }, (_, i) => i);
    const spec = latencyChart({ name: "big", title: "big", series: [{ label: "a", samples }] });
    const values = (spec.vegaLite.data as { values: Array<{ latency: number; fraction: number }> }).values;
    expect(values.length).toBeLessThan(1000);
    expect(values.at(-1)).toEqual({ series: expect.any(String), latency: 100_000, fraction: 1 });
  });

  it("rejects empty input with an error naming the chart and series", () => {
    expect(() => latencyChart({ name: "x", title: "x", series: [] })).toThrow('chart "x": no series given');
    expect(() => latencyChart({ name: "x", title: "x", series: [{ label: "burst", samples: [] }] })).toThrow(
      'chart "x": series "burst" has no samples',
    );
    expect(() => latencyChart({ name: "x", title: "x", series: [{ label: "a", samples: [1, Number.NaN] }] })).toThrow(
      'series "a" has a non-finite value (NaN) at index 1',
    );
    expect(() => latencyChart({ name: "x", title: "x", series: [{ label: "a", samples: [0, 1] }], logScale: true })).toThrow("log axis");
    expect(() =>
      latencyChart({
        name: "x",
        title: "x",
        series: [
          { label: "a", samples: [1] },
          { label: "a", samples: [2] },
        ],
      }),
    ).toThrow('duplicate series label "a"');
    expect(() => latencyChart({ name: "../evil", title: "x", series: [{ label: "a", samples: [1] }] })).toThrow("file name");
  });
});

describe("lineChart and barChart", () => {
  it("render labelled series and bars as well-formed SVG", async () => {
    const line = await renderChart(
      lineChart({
        name: "ready",
        title: "Ready over time",
        xLabel: "seconds",
        yLabel: "Ready sandboxes",
        series: [
          {
            label: "sandboxes Ready",
            points: [
              { x: 0, y: 0 },
              { x: 1, y: 50 },
              { x: 2, y: 100 },
            ],
          },
        ],
        interpolate: "step-after",
      }),
    );
    expectWellFormedSvg(line);
    expect(line).toContain("sandboxes Ready");
    expect(line).toContain("Ready sandboxes");
    const bars = await renderChart(
      barChart({
        name: "pods",
        title: "Pods",
        yLabel: "count",
        bars: [
          { label: "burst", value: 200, group: "needed" },
          { label: "burst", value: 203, group: "created" },
        ],
      }),
    );
    expectWellFormedSvg(bars);
    expect(bars).toContain("created");
    expect(bars).toContain("needed");
  });

  it("reject empty or broken input clearly", () => {
    expect(() => lineChart({ name: "l", title: "l", xLabel: "x", yLabel: "y", series: [{ label: "s", points: [] }] })).toThrow(
      'chart "l": series "s" has no points',
    );
    expect(() =>
      lineChart({ name: "l", title: "l", xLabel: "x", yLabel: "y", series: [{ label: "s", points: [{ x: 1, y: Infinity }] }] }),
    ).toThrow("non-finite");
    expect(() => barChart({ name: "b", title: "b", yLabel: "y", bars: [] })).toThrow('chart "b": no bars given');
    expect(() =>
      barChart({
        name: "b",
        title: "b",
        yLabel: "y",
        bars: [
          { label: "a", value: 1 },
          { label: "a", value: 2 },
        ],
      }),
    ).toThrow('duplicate bar "a"');
  });
});
