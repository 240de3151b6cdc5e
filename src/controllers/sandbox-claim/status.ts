// The SandboxClaim's status as upstream's SandboxClaimReconciler writes it (computeReadyCondition,
// syncFinishedCondition and computeAndSetStatus): Ready forwarded from the bound Sandbox unless
// the claim itself has something to say, Finished copied verbatim, and status.sandbox mirroring
// the Sandbox's name, pod IPs and Service FQDN.
import {
  SandboxClaimConditionType,
  SandboxClaimMessage,
  SandboxClaimReason,
  SandboxConditionType,
  SandboxReason,
} from "../../api/index.js";
import { ConditionList, findCondition, type Condition, type ConditionInput } from "../../runtime/conditions.js";

/** The bound Sandbox, as much of it as the claim mirrors. */
export interface ClaimedSandbox {
  name: string;
  status?:
    { conditions?: readonly Condition[] | undefined; podIPs?: readonly string[] | undefined; serviceFQDN?: string | undefined } | undefined;
}

/** What the claim's status is computed from, gathered by the reconciler. */
export interface ClaimObservation {
  generation: number;
  /** The claim passed its lifecycle expiry (shutdownTime, or Finished plus ttlSecondsAfterFinished). */
  expired: boolean;
  /** The Sandbox bound to the claim, if there is one. */
  sandbox: ClaimedSandbox | undefined;
  /** Why the claim could not get a sandbox this pass (a missing pool or template, a refused override). */
  refusal?: { reason: string; message: string } | undefined;
}

/** status.sandbox of a claim. */
export interface ClaimSandboxStatus {
  name: string;
  podIPs?: string[];
  serviceFQDN?: string;
}

/** The claim status the reconciler applies; no `sandbox` means the claim names none. */
export interface ClaimStatusOut {
  conditions: Condition[];
  sandbox?: ClaimSandboxStatus;
}

/** The previous status the next one starts from. */
export interface PreviousClaimStatus {
  conditions?: readonly Condition[] | undefined;
  sandbox?: { name?: string | undefined; podIPs?: readonly string[] | undefined; serviceFQDN?: string | undefined } | undefined;
}

/** Pure: the next claim status and whether it differs from the previous one. */
export function computeClaimStatus(
  previous: PreviousClaimStatus | undefined,
  o: ClaimObservation,
  now: Date,
): { status: ClaimStatusOut; changed: boolean } {
  const list = new ConditionList(previous?.conditions, now);

  list.set({ ...claimReadyCondition(o), type: SandboxClaimConditionType.Ready, observedGeneration: o.generation });

  // Finished is the Sandbox's, verbatim (its observedGeneration and lastTransitionTime too: the
  // claim's ttlSecondsAfterFinished counts from when the pod finished). An expired claim whose
  // Sandbox is gone keeps the Finished it had.
  const finished = findCondition(o.sandbox?.status?.conditions, SandboxConditionType.Finished);
  if (finished) list.set(finished);
  else if (o.sandbox || !o.expired) list.remove(SandboxClaimConditionType.Finished);

  // A refusal leaves status.sandbox alone: it says nothing about which sandbox the claim holds.
  const sandbox = o.sandbox ? mirror(o.sandbox) : o.refusal ? previousSandbox(previous) : undefined;
  const sandboxChanged = JSON.stringify(sandbox ?? null) !== JSON.stringify(previousSandbox(previous) ?? null);
  return { status: { conditions: list.conditions, ...(sandbox ? { sandbox } : {}) }, changed: list.changed || sandboxChanged };
}

/** The claim's Ready condition (upstream computeReadyCondition), before the generation is stamped. */
function claimReadyCondition(o: ClaimObservation): Omit<ConditionInput, "type" | "observedGeneration"> {
  const notReady = (reason: string, message: string) => ({ status: "False" as const, reason, message });
  if (o.refusal) return notReady(o.refusal.reason, o.refusal.message);
  if (o.expired) return notReady(SandboxClaimReason.ClaimExpired, SandboxClaimMessage.ClaimExpired);
  if (!o.sandbox) return notReady(SandboxClaimReason.SandboxMissing, SandboxClaimMessage.SandboxMissing);
  const ready = findCondition(o.sandbox.status?.conditions, SandboxConditionType.Ready);
  if (ready?.reason === SandboxReason.SandboxExpired)
    return notReady(SandboxClaimReason.SandboxExpired, SandboxClaimMessage.SandboxExpired);
  if (!ready) return notReady(SandboxClaimReason.SandboxNotReady, SandboxClaimMessage.SandboxNotReady);
  // Forwarded whole, the transition time included, so the claim says when the Sandbox changed.
  return { status: ready.status, reason: ready.reason, message: ready.message, lastTransitionTime: ready.lastTransitionTime };
}

function mirror(s: ClaimedSandbox): ClaimSandboxStatus {
  const podIPs = s.status?.podIPs ?? [];
  const fqdn = s.status?.serviceFQDN;
  return { name: s.name, ...(podIPs.length > 0 ? { podIPs: [...podIPs] } : {}), ...(fqdn ? { serviceFQDN: fqdn } : {}) };
}

function previousSandbox(previous: PreviousClaimStatus | undefined): ClaimSandboxStatus | undefined {
  const p = previous?.sandbox;
  return p?.name ? mirror({ name: p.name, status: { podIPs: p.podIPs, serviceFQDN: p.serviceFQDN } }) : undefined;
}
