// Prometheus metrics for the runtime, named like controller-runtime's so existing dashboards fit.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface RuntimeMetrics {
  registry: Registry;
  reconcileTotal: Counter<"controller" | "result">;
  reconcileErrors: Counter<"controller">;
  terminalErrors: Counter<"controller">;
  reconcilePanics: Counter<"controller">;
  reconcileTimeouts: Counter<"controller">;
  reconcileDuration: Histogram<"controller">;
  activeWorkers: Gauge<"controller">;
  maxWorkers: Gauge<"controller">;
  queueDepth: Gauge<"name">;
  queueAdds: Counter<"name">;
  queueRetries: Counter<"name">;
  leaderStatus: Gauge<"name">;
}

const byRegistry = new WeakMap<Registry, RuntimeMetrics>();

/** The process-wide registry served on /metrics. Other modules register their metrics here too. */
export const defaultRegistry = new Registry();
collectDefaultMetrics({ register: defaultRegistry });

/** Returns the runtime metrics registered on `registry` (created once per registry). */
export function runtimeMetrics(registry: Registry = defaultRegistry): RuntimeMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: RuntimeMetrics = {
    registry,
    reconcileTotal: new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller and result (success, error, terminal_error, requeue_after)",
      labelNames: ["controller", "result"],
      registers,
    }),
    reconcileErrors: new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    }),
    terminalErrors: new Counter({
      name: "controller_runtime_terminal_reconcile_errors_total",
      help: "Total number of terminal (not retried) reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    }),
    reconcilePanics: new Counter({
      name: "controller_runtime_reconcile_panics_total",
      help: "Total number of reconciliations that threw a non-Error value",
      labelNames: ["controller"],
      registers,
    }),
    reconcileTimeouts: new Counter({
      name: "controller_runtime_reconcile_timeouts_total",
      help: "Total number of reconciliations whose signal hit the per-reconcile timeout",
      labelNames: ["controller"],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    activeWorkers: new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of workers currently running a reconcile per controller",
      labelNames: ["controller"],
      registers,
    }),
    maxWorkers: new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller",
      labelNames: ["controller"],
      registers,
    }),
    queueDepth: new Gauge({
      name: "workqueue_depth",
      help: "Current depth of the work queue (keys ready to process)",
      labelNames: ["name"],
      registers,
    }),
    queueAdds: new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by the work queue",
      labelNames: ["name"],
      registers,
    }),
    queueRetries: new Counter({
      name: "workqueue_retries_total",
      help: "Total number of rate-limited retries handled by the work queue",
      labelNames: ["name"],
      registers,
    }),
    leaderStatus: new Gauge({
      name: "leader_election_master_status",
      help: "1 if this process holds the named lease, 0 otherwise",
      labelNames: ["name"],
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
