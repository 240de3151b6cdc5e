import { SandboxConditionType, SandboxMessage, SandboxReason } from "../../api/index.js";
import { ConditionList, type Condition } from "../../runtime/conditions.js";
import {
  finishedCondition,
  podScheduledCondition,
  readyCondition,
  suspendedCondition,
  type ConditionDraft,
  type SandboxFacts,
} from "./conditions.js";
import type { ObservedPod } from "./observed-pod.js";

/** The facts the status is computed from, gathered by the reconciler. */
export interface SandboxObservation {
  generation: number;
  suspended: boolean;
  expired: boolean;
  /** Pods controlled by this sandbox, terminating ones included (more than one is an error upstream reports). */
  pods: ObservedPod[];
  /** A pod holding the sandbox's name exists that this sandbox does not control. */
  foreignPod?: boolean | undefined;
  /** spec.service as written: true, false or unset. */
  serviceRequested: boolean | undefined;
  /** The Service the sandbox has after this pass, if any. */
  service: { name: string; fqdn: string } | undefined;
  selector: string;
  /** Why the pod could not be created or used this pass (Ready reason ReconcilerError). */
  reconcileError?: string | undefined;
}

/** The parts of the previous status the next one carries forward. */
export interface PreviousSandboxStatus {
  conditions?: readonly Condition[] | undefined;
  selector?: string | undefined;
}

/** The status the reconciler applies; an absent field is one the status no longer carries. */
export interface SandboxStatusOut {
  conditions: Condition[];
  podIPs?: string[] | undefined;
  nodeName?: string | undefined;
  serviceFQDN?: string | undefined;
  service?: string | undefined;
  selector?: string | undefined;
}

/**
 * Pure: the next status from the previous one and what was observed, as upstream's
 * SandboxReconciler writes it (reconcileChildResources for a live sandbox, and
 * setSandboxExpiredCondition plus handleSandboxExpiry for an expired one).
 */
export function computeSandboxStatus(
  previous: PreviousSandboxStatus | undefined,
  o: SandboxObservation,
  now: Date,
): { status: SandboxStatusOut; changed: boolean } {
  const list = new ConditionList(previous?.conditions, now);
  const set = (c: ConditionDraft & { observedGeneration?: number | undefined }): void =>
    list.set({ observedGeneration: o.generation, ...c });
  const remove = (type: string): void => list.remove(type);

  if (o.expired) {
    // Expiry tears the pod down and stops reconciling it: Ready says so, PodScheduled would only
    // be stale, and Suspended and Finished stay as they were (Finished records how the pod ended).
    set({ type: SandboxConditionType.Ready, status: "False", reason: SandboxReason.SandboxExpired, message: SandboxMessage.Expired });
    remove(SandboxConditionType.PodScheduled);
    // Upstream resets the status to its conditions once the pod and Service are deleted.
    return { status: { conditions: list.conditions }, changed: list.changed };
  }

  const facts: SandboxFacts = {
    suspended: o.suspended,
    pod: o.pods.length === 1 ? o.pods[0] : undefined,
    foreignPod: o.foreignPod ?? false,
    podError:
      o.pods.length > 1
        ? { kind: "MultiplePods", count: o.pods.length }
        : o.reconcileError !== undefined
          ? { kind: "ReconcilerError", message: o.reconcileError }
          : undefined,
    serviceRequested: o.serviceRequested,
    serviceExists: o.service !== undefined,
  };

  set(suspendedCondition(facts));
  const scheduled = podScheduledCondition(facts);
  if (scheduled) set(scheduled);
  else remove(SandboxConditionType.PodScheduled);
  // Finished lasts as long as the ended pod does: when someone deletes it, the sandbox gets a
  // new pod, as upstream does, and the condition goes with the old one.
  const finished = finishedCondition(facts.pod);
  if (finished) set(finished);
  else remove(SandboxConditionType.Finished);
  set(readyCondition(facts));

  const running = facts.pod && !o.suspended ? facts.pod : undefined;
  // Upstream records the selector once it has seen a pod under the sandbox's name, and keeps it.
  const podSeen = facts.pod !== undefined || facts.foreignPod;
  return {
    status: {
      conditions: list.conditions,
      podIPs: running && running.podIPs.length > 0 ? running.podIPs : undefined,
      nodeName: running?.nodeName,
      serviceFQDN: o.service?.fqdn,
      service: o.service?.name,
      selector: podSeen ? o.selector : previous?.selector,
    },
    changed: list.changed,
  };
}
