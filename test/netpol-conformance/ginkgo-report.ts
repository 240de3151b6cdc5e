// Reads the JSON report Ginkgo writes (--ginkgo.json-report) into one row per spec, and
// formats the summary the run prints and stores. Pure.
import { z } from "zod";

const specReportSchema = z.object({
  ContainerHierarchyTexts: z.array(z.string()).nullish(),
  LeafNodeType: z.string(),
  LeafNodeText: z.string(),
  State: z.string(),
  RunTime: z.number(),
  Failure: z.object({ Message: z.string().optional() }).nullish(),
});
const suiteReportSchema = z.object({ SpecReports: z.array(specReportSchema).nullish() });
const reportSchema = z.array(suiteReportSchema);

/** Where a spec ended: Ginkgo's states, with panicked/timedout/aborted/interrupted folded into failed. */
export type SpecOutcome = "passed" | "failed" | "skipped";

/** One NetworkPolicy e2e spec as it ran. */
export interface SpecResult {
  /** The full spec text: container texts and the leaf text, joined by spaces as Ginkgo prints them. */
  name: string;
  outcome: SpecOutcome;
  seconds: number;
  /** The first line of the failure message, when the spec failed. */
  failure?: string;
}

function outcomeOf(state: string): SpecOutcome {
  if (state === "passed") return "passed";
  if (state === "skipped" || state === "pending") return "skipped";
  return "failed";
}

/** Spec rows of a Ginkgo JSON report: its `It` nodes (suite setup and report nodes left out). */
export function parseGinkgoReport(json: string): SpecResult[] {
  const suites = reportSchema.parse(JSON.parse(json));
  const out: SpecResult[] = [];
  for (const suite of suites) {
    for (const spec of suite.SpecReports ?? []) {
      if (spec.LeafNodeType !== "It") continue;
      const outcome = outcomeOf(spec.State);
      const failure =
        outcome === "failed"
          ? spec.Failure?.Message?.split("\n")
              .find((l) => l.trim() !== "")
              ?.trim()
          : undefined;
      out.push({
        name: [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].join(" "),
        outcome,
        seconds: Math.round(spec.RunTime / 1e8) / 10,
        ...(failure !== undefined ? { failure } : {}),
      });
    }
  }
  return out;
}

/** Counts of specs that ran (skipped specs were filtered out before the run and are not counted). */
export function countSpecs(specs: readonly SpecResult[]): { passed: number; failed: number; ran: number } {
  const passed = specs.filter((s) => s.outcome === "passed").length;
  const failed = specs.filter((s) => s.outcome === "failed").length;
  return { passed, failed, ran: passed + failed };
}

/** A Markdown table: one row per spec that ran, with each enforcer's outcome side by side. */
export function comparisonTable(runs: ReadonlyArray<{ enforcer: string; specs: readonly SpecResult[] }>): string[] {
  const names = [...new Set(runs.flatMap((r) => r.specs.filter((s) => s.outcome !== "skipped").map((s) => s.name)))].sort();
  const lines = [`| spec | ${runs.map((r) => r.enforcer).join(" | ")} |`, `| --- | ${runs.map(() => "---").join(" | ")} |`];
  for (const name of names) {
    const cells = runs.map((r) => {
      const s = r.specs.find((x) => x.name === name);
      return s === undefined || s.outcome === "skipped" ? "not run" : `${s.outcome} (${s.seconds} s)`;
    });
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return lines;
}
