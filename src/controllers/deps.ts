import type { EventRecorder, Logger, ObjectClient } from "../runtime/index.js";
import type { OperatorConfig } from "../config/operator-config.js";
import type { Caches } from "./shared/caches.js";
import type { EnvDelivery } from "./sandbox-claim/env-delivery.js";
import type { ClaimsFirstGate } from "./shared/claims-first-gate.js";
import type { OperatorMetrics } from "./shared/metrics.js";

/**
 * The API server calls reconcilers make: the object verbs of the runtime's client, so a unit test
 * can pass an in-memory one. Give it through readYourWrites, so the caches show every write.
 */
export type KubeClient = ObjectClient;

/** Where reconcilers record Kubernetes events. */
export type EventSink = Pick<EventRecorder, "event">;

/** What every reconciler is given: caches to read, a client to write, and the operator's settings. */
export interface ControllerDeps {
  kube: KubeClient;
  caches: Caches;
  config: OperatorConfig;
  events: EventSink;
  metrics: OperatorMetrics;
  logger: Logger;
  /** Says whether claims are waiting, so that writes nobody waits for can step aside. */
  claimsFirst: ClaimsFirstGate;
  /**
   * Hands a claim's env to its sandbox's execution server. Without it, claims with env get it in
   * the pod spec and are cold-started (upstream's behaviour).
   */
  envDelivery?: EnvDelivery | undefined;
  /** The clock; injectable so expiry logic can be unit-tested. */
  now: () => Date;
}
