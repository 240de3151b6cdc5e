import type { EventRecorder, Kube, Logger } from "../runtime/index.js";
import type { OperatorConfig } from "../config/operator-config.js";
import type { Caches } from "./shared/caches.js";
import type { ClaimsFirstGate } from "./shared/claims-first-gate.js";
import type { OperatorMetrics } from "./shared/metrics.js";

/** What every reconciler is given: caches to read, a client to write, and the operator's settings. */
export interface ControllerDeps {
  kube: Kube;
  caches: Caches;
  config: OperatorConfig;
  events: EventRecorder;
  metrics: OperatorMetrics;
  logger: Logger;
  /** Says whether claims are waiting, so that writes nobody waits for can step aside. */
  claimsFirst: ClaimsFirstGate;
  /** The clock; injectable so expiry logic can be unit-tested. */
  now: () => Date;
}
