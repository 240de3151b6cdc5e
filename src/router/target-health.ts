// Whether a sandbox that is not serving will come back by itself, and whether a call in flight
// to it is lost, judged from the Sandbox's status in the router's caches. Pure.
import { SandboxClaimReason, SandboxReason } from "../api/index.js";
import { findCondition } from "../runtime/index.js";
import type { SandboxObject } from "./caches.js";

/**
 * Ready reasons after which a Sandbox does not serve again without someone acting (deleting it,
 * resuming it, fixing its spec): a call fails at once instead of waiting for it. Any other
 * not-Ready reason (a pod being created or recreated, a container restarting) is waited out
 * briefly.
 */
const LASTING_REASONS: ReadonlySet<string> = new Set([
  SandboxReason.PodFailed,
  SandboxReason.PodSucceeded,
  SandboxReason.MultiplePods,
  SandboxReason.SandboxExpired,
  SandboxReason.SandboxSuspended,
  SandboxReason.ReconcilerError,
  SandboxClaimReason.SandboxExpired,
  SandboxClaimReason.ClaimExpired,
  SandboxClaimReason.InvalidMetadata,
  SandboxClaimReason.EnvVarsInjectionRejected,
  SandboxClaimReason.VolumeClaimTemplatesError,
  SandboxClaimReason.TemplateNotFound,
  SandboxClaimReason.WarmPoolNotFound,
]);

/** True if a not-Ready reason will not clear by itself. */
export function isLasting(reason: string): boolean {
  return LASTING_REASONS.has(reason);
}

/** Reason given when the Sandbox a call went to is no longer in the caches. */
export const NotFoundReason = "NotFound";

/** The Sandbox and pod a call was sent to. */
export interface DialledSandbox {
  namespace: string;
  name: string;
  uid: string;
  podIP: string;
}

/**
 * What the caches say about a call in flight: `lost` when its pod or Sandbox is certainly gone
 * (deleted, replaced, failed, suspended), `suspect` when the Sandbox is merely not Ready (a
 * restarting container, or a readiness probe that timed out under load: the caller checks the
 * pod before giving up on the call), `alive` otherwise.
 */
export type CallVerdict = { kind: "alive" } | { kind: "lost" | "suspect"; reason: string; message: string };

export function callVerdict(current: SandboxObject | undefined, dialled: DialledSandbox): CallVerdict {
  const lost = (reason: string, detail: string): CallVerdict => ({
    kind: "lost",
    reason,
    message: `sandbox ${dialled.name} went away during the call: ${detail}`,
  });
  if (!current || current.metadata.uid !== dialled.uid) return lost(NotFoundReason, "it was deleted (not found)");
  if (current.metadata.deletionTimestamp) return lost("SandboxDeleting", "it is being deleted");
  if (current.spec.operatingMode === "Suspended") return lost(SandboxReason.SandboxSuspended, "it was suspended");
  const ready = findCondition(current.status?.conditions, "Ready");
  const notReady = ready && ready.status !== "True" ? ready : undefined;
  const statusDetail = notReady ? notReady.message || "not ready" : "";
  if (notReady && isLasting(notReady.reason)) return lost(notReady.reason, statusDetail);
  if (!(current.status?.podIPs ?? []).includes(dialled.podIP)) {
    return lost(notReady?.reason ?? "PodReplaced", `its pod at ${dialled.podIP} is gone${statusDetail ? `; ${statusDetail}` : ""}`);
  }
  if (notReady)
    return {
      kind: "suspect",
      reason: notReady.reason,
      message: `sandbox ${dialled.name} stopped answering during the call: ${statusDetail}`,
    };
  return { kind: "alive" };
}
