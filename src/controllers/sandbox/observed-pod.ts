import type { V1Pod } from "@kubernetes/client-node";

/** What the Sandbox status needs to know about its pod, read once. */
export interface ObservedPod {
  name: string;
  phase: string;
  ready: boolean;
  terminating: boolean;
  podIPs: string[];
  nodeName: string | undefined;
  scheduled: { status: "True" | "False" | "Unknown"; reason: string; message: string } | undefined;
  /** A short human explanation of why the pod is not Ready yet. */
  waitingFor: string;
  /** The kubelet's reason and message for a finished pod (e.g. "Evicted: ..."), or "". */
  endedBecause: string;
}

export function observePod(pod: V1Pod): ObservedPod {
  const conditions = pod.status?.conditions ?? [];
  const readyCondition = conditions.find((c) => c.type === "Ready");
  const scheduledCondition = conditions.find((c) => c.type === "PodScheduled");
  const podIPs = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => Boolean(ip));
  if (podIPs.length === 0 && pod.status?.podIP) podIPs.push(pod.status.podIP);
  const phase = pod.status?.phase ?? "Pending";
  return {
    name: pod.metadata?.name ?? "",
    phase,
    ready: phase === "Running" && readyCondition?.status === "True" && podIPs.length > 0,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    podIPs,
    nodeName: pod.spec?.nodeName,
    scheduled: scheduledCondition
      ? {
          status: scheduledCondition.status as "True" | "False" | "Unknown",
          reason: scheduledCondition.reason ?? (scheduledCondition.status === "True" ? "PodScheduled" : "PodSchedulingUnknown"),
          message: scheduledCondition.message ?? "",
        }
      : undefined,
    waitingFor: describeWait(pod, phase, readyCondition?.message),
    endedBecause: [pod.status?.reason, pod.status?.message?.trim()].filter(Boolean).join(": "),
  };
}

function describeWait(pod: V1Pod, phase: string, readyMessage: string | undefined): string {
  const waiting = (pod.status?.containerStatuses ?? [])
    .map((s) => s.state?.waiting?.reason)
    .filter((r): r is string => Boolean(r));
  if (waiting.length > 0) return `Pod is ${phase}: ${[...new Set(waiting)].join(", ")}`;
  if (readyMessage) return `Pod is ${phase}: ${readyMessage}`;
  return `Pod is ${phase}`;
}
