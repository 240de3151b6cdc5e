// Benchmark dispatcher: `npm run bench -- <scenario>|all`. Scenarios live in
// bench/scenarios/*.ts (each exports `scenario`); results go to bench/results/<name>.json and
// charts (see bench/lib/chart.ts) to bench/results/<name>-<chart>.svg.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { renderChart, type ChartSpec } from "./lib/chart.js";
import { describeMachine } from "./lib/machine.js";
import type { Scenario } from "./lib/scenario.js";

const here = import.meta.dirname;

async function loadScenarios(): Promise<Map<string, Scenario>> {
  const dir = path.join(here, "scenarios");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort();
  const scenarios = new Map<string, Scenario>();
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(dir, file)).href)) as { scenario?: Scenario };
    if (!module.scenario) throw new Error(`bench/scenarios/${file} does not export \`scenario\``);
    if (scenarios.has(module.scenario.name)) throw new Error(`duplicate scenario name ${module.scenario.name}`);
    scenarios.set(module.scenario.name, module.scenario);
  }
  return scenarios;
}

async function main(): Promise<void> {
  const scenarios = await loadScenarios();
  const wanted = process.argv.slice(2);
  if (wanted.length === 0 || wanted.includes("--help")) {
    console.log("usage: npm run bench -- <scenario>|all\n\nscenarios:");
    for (const s of scenarios.values()) console.log(`  ${s.name.padEnd(20)} ${s.description}`);
    process.exit(wanted.length === 0 ? 1 : 0);
  }
  const all = [...scenarios.values()].sort((a, b) => Number(a.runLast ?? false) - Number(b.runLast ?? false));
  const selected = wanted.includes("all")
    ? all
    : wanted.map((name) => {
        const found = scenarios.get(name);
        if (!found) throw new Error(`unknown scenario "${name}" (known: ${[...scenarios.keys()].join(", ")})`);
        return found;
      });
  await mkdir(path.join(here, "results"), { recursive: true });
  for (const scenario of selected) {
    const log = (message: string): void => console.log(`[${scenario.name}] ${message}`);
    const startedAt = new Date().toISOString();
    log("starting");
    const charts: ChartSpec[] = [];
    const results = await scenario.run(log, {
      chart(spec) {
        if (charts.some((c) => c.name === spec.name)) throw new Error(`${scenario.name}: two charts named "${spec.name}"`);
        charts.push(spec);
      },
    });
    const chartFile = (spec: ChartSpec): string => path.join(here, "results", `${scenario.name}-${spec.name}.svg`);
    const report = {
      scenario: scenario.name,
      description: scenario.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: describeMachine(),
      charts: charts.map((spec) => path.basename(chartFile(spec))),
      results,
    };
    // Figures first: a chart that fails to render must not cost the measurements.
    const file = path.join(here, "results", `${scenario.name}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), file)}`);
    for (const spec of charts) {
      await writeFile(chartFile(spec), await renderChart(spec));
      log(`wrote ${path.relative(process.cwd(), chartFile(spec))}`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
