// The Sandbox's four conditions, one pure builder each. Types, statuses, reasons and messages
// are upstream's (its SandboxReconciler compute*Condition functions); where this operator knows
// more than upstream says (why a pod is not Ready, why it failed), the detail is appended in
// parentheses to upstream's message, so the message still starts with upstream's words.
import { SandboxConditionType, SandboxMessage, SandboxReason } from "../../api/index.js";
import type { Condition, ConditionInput } from "../../runtime/conditions.js";
import type { ObservedPod } from "./observed-pod.js";

/** A condition before the generation is stamped on it. */
export type ConditionDraft = Omit<ConditionInput, "observedGeneration">;

/** Why the pod's state could not be established this pass. */
export type PodError =
  /** More than one pod is controlled by the sandbox. */
  | { kind: "MultiplePods"; count: number }
  /** The pod could not be created or used (a name clash, a pod the API server refused). */
  | { kind: "ReconcilerError"; message: string };

/** What the conditions are computed from. */
export interface SandboxFacts {
  suspended: boolean;
  /** The one pod this sandbox controls, terminating or not; undefined if there is none (or several). */
  pod: ObservedPod | undefined;
  /** A pod holding the sandbox's name exists that this sandbox does not control. */
  foreignPod: boolean;
  podError: PodError | undefined;
  /** spec.service: true requires a Service, false forbids one, unset requires one only if it exists. */
  serviceRequested: boolean | undefined;
  serviceExists: boolean;
}

/** Suspended: always present; True only once a suspended sandbox's pod is gone (upstream computeSuspendedCondition). */
export function suspendedCondition(f: SandboxFacts): ConditionDraft {
  const c = (status: Condition["status"], reason: string, message: string): ConditionDraft => ({
    type: SandboxConditionType.Suspended,
    status,
    reason,
    message,
  });
  if (!f.suspended) return c("False", SandboxReason.NotSuspended, SandboxMessage.NotSuspended);
  if (f.podError) return c("Unknown", SandboxReason.PodStateUnknown, SandboxMessage.SuspensionUnknown);
  if (f.pod) return c("False", SandboxReason.PodTerminating, SandboxMessage.PodTerminating);
  if (f.foreignPod) return c("False", SandboxReason.PodNotOwned, SandboxMessage.PodNotOwned);
  return c("True", SandboxReason.PodTerminated, SandboxMessage.PodTerminated);
}

/**
 * PodScheduled: the owned pod's own condition, mirrored; undefined (the condition is removed)
 * while there is no owned pod (upstream computePodScheduledCondition).
 */
export function podScheduledCondition(f: SandboxFacts): ConditionDraft | undefined {
  const type = SandboxConditionType.PodScheduled;
  if (f.podError) return { type, status: "Unknown", reason: SandboxReason.PodSchedulingUnknown, message: SandboxMessage.SchedulingUnknown };
  if (!f.pod) return undefined;
  if (f.pod.scheduled) return { type, ...f.pod.scheduled };
  return { type, status: "Unknown", reason: SandboxReason.PodSchedulingUnknown, message: SandboxMessage.NoPodScheduledCondition };
}

/**
 * Finished: True once the owned pod ended; undefined (removed) otherwise (upstream
 * computeFinishedCondition). The message adds the kubelet's reason, e.g. an eviction's.
 */
export function finishedCondition(pod: ObservedPod | undefined): ConditionDraft | undefined {
  const ended = pod ? podEnded(pod) : undefined;
  return ended && { type: SandboxConditionType.Finished, status: "True", ...ended };
}

/** Ready (upstream computeReadyCondition). */
export function readyCondition(f: SandboxFacts): ConditionDraft {
  const notReady = (reason: string, message: string): ConditionDraft => ({
    type: SandboxConditionType.Ready,
    status: "False",
    reason,
    message,
  });
  if (f.podError?.kind === "MultiplePods") {
    return notReady(
      SandboxReason.MultiplePods,
      `multiple Pods (${f.podError.count}) are controlled by this Sandbox; refusing to choose or create a Pod`,
    );
  }
  if (f.podError) return notReady(SandboxReason.ReconcilerError, SandboxMessage.ErrorPrefix + f.podError.message);
  if (f.suspended)
    return notReady(SandboxReason.SandboxSuspended, f.pod || f.foreignPod ? SandboxMessage.Suspending : SandboxMessage.Suspended);
  const ended = f.pod ? podEnded(f.pod) : undefined;
  if (ended) return notReady(ended.reason, ended.message);

  const pod = podPart(f.pod);
  const serviceRequired = f.serviceRequested ?? f.serviceExists;
  const service = !serviceRequired ? "" : f.serviceExists ? SandboxMessage.ServiceExists : SandboxMessage.ServiceAbsent;
  const message = pod.text + service;
  if (pod.ready && (!serviceRequired || f.serviceExists)) {
    return { type: SandboxConditionType.Ready, status: "True", reason: SandboxReason.DependenciesReady, message };
  }
  return notReady(SandboxReason.DependenciesNotReady, message);
}

function podEnded(pod: ObservedPod): { reason: string; message: string } | undefined {
  if (pod.phase === "Succeeded")
    return { reason: SandboxReason.PodSucceeded, message: withDetail(SandboxMessage.PodSucceeded, pod.endedBecause) };
  if (pod.phase === "Failed") return { reason: SandboxReason.PodFailed, message: withDetail(SandboxMessage.PodFailed, pod.endedBecause) };
  return undefined;
}

/**
 * The pod half of a provisioning sandbox's Ready message. Upstream keeps a terminating pod
 * Ready; here it is not Ready (its endpoints are being withdrawn, and a claim must not adopt it).
 */
function podPart(pod: ObservedPod | undefined): { text: string; ready: boolean } {
  if (!pod) return { text: SandboxMessage.PodAbsent, ready: false };
  const detail = pod.terminating ? "terminating" : pod.notReadyDetail;
  if (pod.phase !== "Running") return { text: withDetail(SandboxMessage.PodPhasePrefix + pod.phase, detail), ready: false };
  if (!pod.readyCondition || pod.terminating) return { text: withDetail(SandboxMessage.PodRunningNotReady, detail), ready: false };
  if (pod.podIPs.length === 0) return { text: SandboxMessage.PodReadyNoIPs, ready: false };
  return { text: SandboxMessage.PodReady, ready: true };
}

function withDetail(text: string, detail: string): string {
  return detail ? `${text} (${detail})` : text;
}
