import { setCondition, type Condition, type ConditionInput } from "../../runtime/conditions.js";
import type { ObservedPod } from "./observed-pod.js";

/** The facts the status is computed from, gathered by the reconciler. */
export interface SandboxObservation {
  generation: number;
  suspended: boolean;
  expired: boolean;
  /** Pods controlled by this sandbox (more than one is an error upstream reports). */
  pods: ObservedPod[];
  serviceRequired: boolean;
  serviceName: string | undefined;
  serviceFQDN: string | undefined;
  selector: string;
  /** Set when the reconciler could not act (for example an invalid spec). */
  reconcileError?: { reason: string; message: string } | undefined;
}

export interface SandboxStatusOut {
  conditions: Condition[];
  podIPs?: string[] | undefined;
  nodeName?: string | undefined;
  serviceFQDN?: string | undefined;
  service?: string | undefined;
  selector: string;
}

/**
 * Pure: the next status from the previous conditions and what was observed.
 * Reasons and condition types are upstream's, so clients that branch on them
 * keep working.
 */
export function computeSandboxStatus(
  previous: readonly Condition[] | undefined,
  o: SandboxObservation,
  now: Date,
): { status: SandboxStatusOut; changed: boolean } {
  let conditions: Condition[] = [...(previous ?? [])];
  let changed = false;
  const set = (c: Omit<ConditionInput, "observedGeneration">): void => {
    const r = setCondition(conditions, { ...c, observedGeneration: o.generation }, now);
    conditions = r.conditions;
    changed ||= r.changed;
  };
  const pod = o.pods.length === 1 ? o.pods[0] : undefined;

  set(readyCondition(o, pod));

  if (o.suspended || conditions.some((c) => c.type === "Suspended")) {
    // Upstream keeps Suspended once it has appeared, flipping it back to False on resume.
    set(suspendedCondition(o));
  }
  if (pod?.scheduled) {
    set({ type: "PodScheduled", ...pod.scheduled });
  }
  if (pod && (pod.phase === "Succeeded" || pod.phase === "Failed")) {
    set({
      type: "Finished",
      status: "True",
      reason: pod.phase === "Succeeded" ? "PodSucceeded" : "PodFailed",
      message: finishedMessage(pod),
    });
  }

  const running = pod && !o.suspended && !o.expired ? pod : undefined;
  return {
    status: {
      conditions,
      podIPs: running && running.podIPs.length > 0 ? running.podIPs : undefined,
      nodeName: running?.nodeName,
      serviceFQDN: o.serviceName && !o.expired ? o.serviceFQDN : undefined,
      service: o.serviceName && !o.expired ? o.serviceName : undefined,
      selector: o.selector,
    },
    changed,
  };
}

function readyCondition(o: SandboxObservation, pod: ObservedPod | undefined): Omit<ConditionInput, "observedGeneration"> {
  const notReady = (reason: string, message: string) => ({ type: "Ready", status: "False" as const, reason, message });
  if (o.reconcileError) return notReady(o.reconcileError.reason, o.reconcileError.message);
  if (o.expired) return notReady("SandboxExpired", "The sandbox passed its shutdownTime");
  if (o.suspended) return notReady("SandboxSuspended", "The sandbox is suspended (operatingMode: Suspended)");
  if (o.pods.length > 1) {
    return notReady("MultiplePods", `${o.pods.length} pods are controlled by this sandbox; expected exactly one`);
  }
  if (!pod) return notReady("DependenciesNotReady", "The pod has not been created yet");
  if (pod.phase === "Succeeded") return notReady("PodSucceeded", finishedMessage(pod));
  if (pod.phase === "Failed") return notReady("PodFailed", finishedMessage(pod));
  if (pod.terminating) return notReady("DependenciesNotReady", `Pod ${pod.name} is terminating`);
  if (!pod.ready) return notReady("DependenciesNotReady", pod.waitingFor);
  if (o.serviceRequired && !o.serviceName) return notReady("DependenciesNotReady", "The Service has not been created yet");
  return { type: "Ready", status: "True", reason: "DependenciesReady", message: "Pod is Ready" };
}

function suspendedCondition(o: SandboxObservation): Omit<ConditionInput, "observedGeneration"> {
  if (!o.suspended) return { type: "Suspended", status: "False", reason: "NotSuspended", message: "The sandbox is running" };
  if (o.pods.length === 0) return { type: "Suspended", status: "True", reason: "PodTerminated", message: "The pod was deleted" };
  return { type: "Suspended", status: "False", reason: "PodTerminating", message: "Waiting for the pod to terminate" };
}

/** "Pod x failed: Evicted: ..." — the kubelet's own words, so a sandbox killed for a limit says which. */
function finishedMessage(pod: ObservedPod): string {
  const verb = pod.phase === "Succeeded" ? "completed" : "failed";
  return `Pod ${pod.name} ${verb}${pod.endedBecause ? `: ${pod.endedBecause}` : ""}`;
}
