import type { ChartSpec } from "./chart.js";

/** What a scenario can hand back besides its figures; see bench/lib/chart.ts for the chart contract. */
export interface ScenarioOutput {
  /** Adds a chart, rendered after `run` resolves to bench/results/<scenario>-<spec.name>.svg. */
  chart(spec: ChartSpec): void;
}

/**
 * A benchmark scenario. Each file in bench/scenarios/ exports one as `scenario`; the
 * dispatcher (bench/run.ts) finds them by reading that directory, so adding a scenario is
 * adding a file.
 */
export interface Scenario {
  name: string;
  description: string;
  /**
   * Run after the other scenarios under `all`. For scenarios that start gVisor sandboxes on the
   * host themselves (`runsc do`): once, after such a run, local-cluster pods deleted later stayed
   * Terminating ("remove netns: device or resource busy") until force-deleted.
   */
  runLast?: boolean;
  /** Returns the scenario's figures; the dispatcher adds machine and version details. */
  run(log: (message: string) => void, out: ScenarioOutput): Promise<Record<string, unknown>>;
}
