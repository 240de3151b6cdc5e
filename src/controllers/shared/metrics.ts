import { Histogram, Counter, type Registry } from "prom-client";

/** Buckets from 10 ms to 4 min: warm claims land in the first few, cold gVisor starts in the middle. */
const latencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 120, 240];

export interface OperatorMetrics {
  /** Claim creation to the claim's Ready=True, by launch type (warm or cold). */
  claimReadySeconds: Histogram<"launch_type">;
  claimsCreated: Counter<"launch_type">;
  /** Sandbox creation to Ready=True, by whether a pool created it. */
  sandboxReadySeconds: Histogram<"launch_type">;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  return {
    claimReadySeconds: new Histogram({
      name: "agent_sandbox_claim_ready_seconds",
      help: "Seconds from SandboxClaim creation to Ready=True, by launch type (warm or cold)",
      labelNames: ["launch_type"],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    claimsCreated: new Counter({
      name: "agent_sandbox_claim_sandboxes_total",
      help: "Sandboxes bound to claims, by launch type (warm adoption or cold creation)",
      labelNames: ["launch_type"],
      registers: [registry],
    }),
    sandboxReadySeconds: new Histogram({
      name: "agent_sandbox_sandbox_ready_seconds",
      help: "Seconds from Sandbox creation to its first Ready=True, by launch type",
      labelNames: ["launch_type"],
      buckets: latencyBuckets,
      registers: [registry],
    }),
  };
}
