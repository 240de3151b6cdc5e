import type { V1Pod } from "@kubernetes/client-node";
import { SandboxConditionType, SandboxReason, type Sandbox } from "../../api/index.js";
import { findCondition } from "../../runtime/index.js";
import { observePod } from "./observed-pod.js";

/**
 * A pod the node ended this soon after its creation is replaced only once it would have been
 * this old, so a pod the node keeps refusing (no room for it, say) is retried twice a minute
 * rather than in a tight loop.
 */
export const minPodLifetimeMs = 30_000;

/**
 * Whether the node, not the workload, ended this pod, so the Sandbox should get a new one:
 * the kubelet evicted it (disk or memory pressure, a passed ephemeral-storage limit), the node
 * shut down, or the pod failed although its restartPolicy is Always (its containers would
 * otherwise have been restarted in place). A pod whose own program failed under
 * restartPolicy Never or OnFailure ends the Sandbox instead, as upstream's does. Pure.
 */
export function endedByNode(pod: V1Pod): boolean {
  if (pod.status?.phase !== "Failed" || pod.metadata?.deletionTimestamp) return false;
  return Boolean(pod.status.reason) || (pod.spec?.restartPolicy ?? "Always") === "Always";
}

/** How long to wait before replacing a pod the node ended (0: now). Pure. */
export function replacementDelayMs(pod: V1Pod, nowMs: number): number {
  const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : Number.NaN;
  if (!Number.isFinite(created)) return 0;
  return Math.max(0, created + minPodLifetimeMs - nowMs);
}

/**
 * How the previous pod ended, when the pod about to be created replaces one: the ended pod's
 * own reason while it is still seen, else the Sandbox's Finished condition (written from that
 * pod before it was deleted), else its suspension. Undefined for a first pod. Pure.
 */
export function previousPodEnd(sandbox: Sandbox, endedPod: V1Pod | undefined): string | undefined {
  if (endedPod) return observePod(endedPod).endedBecause || "the pod failed";
  const finished = findCondition(sandbox.status?.conditions, SandboxConditionType.Finished);
  if (finished?.status === "True" && finished.reason === SandboxReason.PodFailed) return finished.message || "the pod failed";
  // Resumed: the Suspended condition still says so until the new pod's status is written.
  if (findCondition(sandbox.status?.conditions, SandboxConditionType.Suspended)?.status === "True") return "the sandbox was suspended";
  return undefined;
}

/**
 * What the replacement's execution server tells the first call on each context: its
 * interpreters' state went with the old pod, and whether the workspace did too. Pure.
 */
export function replacedPodNotice(previousEnd: string, workspacePersistent: boolean): string {
  const files = workspacePersistent
    ? "files in /workspace were kept (it is a persistent volume)"
    : "/workspace starts empty (it lived in the old pod)";
  return `this sandbox's pod was replaced after the previous one ended (${previousEnd}): every context's state is gone, and ${files}`;
}
