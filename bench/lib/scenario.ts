/**
 * A benchmark scenario. Each file in bench/scenarios/ exports one as `scenario`; the
 * dispatcher (bench/run.ts) finds them by reading that directory, so adding a scenario is
 * adding a file.
 */
export interface Scenario {
  name: string;
  description: string;
  /** Returns the scenario's figures; the dispatcher adds machine and version details. */
  run(log: (message: string) => void): Promise<Record<string, unknown>>;
}
