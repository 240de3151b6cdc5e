import type { V1Pod } from "@kubernetes/client-node";
import { SandboxReason } from "../../api/index.js";
import type { ConditionStatus } from "../../runtime/conditions.js";

/** What the Sandbox status needs to know about its pod, read once. */
export interface ObservedPod {
  name: string;
  phase: string;
  /** The pod's own Ready condition is True. */
  readyCondition: boolean;
  /** Running, Ready and with at least one IP: what upstream counts as a ready pod. */
  ready: boolean;
  terminating: boolean;
  podIPs: string[];
  nodeName: string | undefined;
  /** The pod's PodScheduled condition as the Sandbox mirrors it, or undefined if the pod has none yet. */
  scheduled: { status: ConditionStatus; reason: string; message: string } | undefined;
  /** Why a pod that is not Ready waits: its containers' waiting reasons, else its Ready condition's message; or "". */
  notReadyDetail: string;
  /** The kubelet's reason and message for a finished pod (e.g. "Evicted: ..."), or "". */
  endedBecause: string;
}

/** Reads the facts the status builders use from a pod. Pure. */
export function observePod(pod: V1Pod): ObservedPod {
  const conditions = pod.status?.conditions ?? [];
  const readyCondition = conditions.find((c) => c.type === "Ready");
  const scheduledCondition = conditions.find((c) => c.type === "PodScheduled");
  const podIPs = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => Boolean(ip));
  if (podIPs.length === 0 && pod.status?.podIP) podIPs.push(pod.status.podIP);
  const phase = pod.status?.phase ?? "Pending";
  const readyTrue = readyCondition?.status === "True";
  return {
    name: pod.metadata?.name ?? "",
    phase,
    readyCondition: readyTrue,
    ready: phase === "Running" && readyTrue && podIPs.length > 0,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    podIPs,
    nodeName: pod.spec?.nodeName,
    scheduled: scheduledCondition ? mirrorScheduled(scheduledCondition) : undefined,
    notReadyDetail: notReadyDetail(pod, readyCondition?.message),
    endedBecause: [pod.status?.reason, pod.status?.message?.trim()].filter(Boolean).join(": "),
  };
}

/**
 * The scheduler sets no reason on success, and a condition needs one: an empty reason becomes
 * PodScheduled when True, PodSchedulingUnknown otherwise (upstream's fallbacks).
 */
function mirrorScheduled(c: { status: string; reason?: string | undefined; message?: string | undefined }): ObservedPod["scheduled"] {
  const status = toConditionStatus(c.status);
  const fallback = status === "True" ? SandboxReason.PodScheduled : SandboxReason.PodSchedulingUnknown;
  return { status, reason: c.reason || fallback, message: c.message ?? "" };
}

function toConditionStatus(s: string): ConditionStatus {
  return s === "True" || s === "False" ? s : "Unknown";
}

function notReadyDetail(pod: V1Pod, readyMessage: string | undefined): string {
  // The execution server is a sidecar, so its status is among the init containers'.
  const waiting = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map((s) => s.state?.waiting?.reason)
    .filter((r): r is string => Boolean(r));
  if (waiting.length > 0) return [...new Set(waiting)].join(", ");
  return readyMessage ?? "";
}
