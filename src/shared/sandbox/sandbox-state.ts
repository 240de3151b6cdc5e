// A sandbox as the management API and the SDK report it: one SandboxClaim and the Sandbox
// bound to it, reduced to a handful of states. Pure.
import { AnnotationKeys, RouterKeys, SandboxClaimReason, SandboxReason } from "../../api/index.js";
import { findCondition, type Condition } from "../../runtime/index.js";
import type { ClaimObject, SandboxObject } from "./objects.js";
import type { SandboxInfo, SandboxState } from "./sandbox-info.js";

/** Claim reasons the claim controller never recovers from by itself. */
const FAILED_REASONS: ReadonlySet<string> = new Set([
  SandboxClaimReason.InvalidMetadata,
  SandboxClaimReason.EnvVarsInjectionRejected,
  SandboxClaimReason.VolumeClaimTemplatesError,
  SandboxClaimReason.TemplateNotFound,
  SandboxClaimReason.WarmPoolNotFound,
  SandboxReason.PodFailed,
  SandboxReason.PodSucceeded,
  SandboxReason.MultiplePods,
]);
const EXPIRED_REASONS: ReadonlySet<string> = new Set([SandboxClaimReason.ClaimExpired, SandboxClaimReason.SandboxExpired]);

const conditionsOf = (
  o: { status?: { conditions?: readonly Condition[] | undefined } | undefined } | undefined,
): readonly Condition[] | undefined => o?.status?.conditions;

/** The state of a claim and its bound Sandbox at nowMs, with the Ready condition's reason and message. */
export function claimState(
  claim: ClaimObject,
  sandbox: SandboxObject | undefined,
  nowMs: number,
): { state: SandboxState; reason?: string; message?: string } {
  const ready = findCondition(conditionsOf(claim), "Ready");
  const withReason = (state: SandboxState) => ({
    state,
    ...(ready?.reason ? { reason: ready.reason } : {}),
    ...(ready?.message ? { message: ready.message } : {}),
  });
  if (claim.metadata.deletionTimestamp) return { state: "deleting" };
  const shutdown = claim.spec.lifecycle?.shutdownTime ? Date.parse(claim.spec.lifecycle.shutdownTime) : undefined;
  if ((ready && EXPIRED_REASONS.has(ready.reason)) || (shutdown !== undefined && shutdown <= nowMs))
    return { ...withReason("expired"), state: "expired" };
  if (ready && FAILED_REASONS.has(ready.reason)) return withReason("failed");
  if (findCondition(conditionsOf(claim), "Finished")?.status === "True") return withReason("failed");
  if (sandbox?.spec.operatingMode === "Suspended" || ready?.reason === SandboxReason.SandboxSuspended) return withReason("suspended");
  if (ready?.status === "True" && sandbox && (sandbox.status?.podIPs?.length ?? 0) > 0) return withReason("running");
  return withReason("creating");
}

/** The name of the Sandbox a claim is bound to, if it has one yet. */
export function boundSandboxName(claim: ClaimObject): string | undefined {
  return claim.status?.sandbox?.name || claim.metadata.annotations?.[AnnotationKeys.SandboxName] || undefined;
}

/** The reported view of a claim and its bound Sandbox at nowMs. */
export function viewOf(
  claim: ClaimObject,
  sandbox: SandboxObject | undefined,
  templateOfPool: string | undefined,
  nowMs: number,
): SandboxInfo {
  const { state, reason, message } = claimState(claim, sandbox, nowMs);
  const annotations = claim.metadata.annotations ?? {};
  const ttl = Number(annotations[RouterKeys.TtlSeconds]);
  const podIPs = sandbox?.status?.podIPs;
  return {
    id: claim.metadata.name ?? "",
    namespace: claim.metadata.namespace ?? "",
    state,
    reason,
    message,
    warmPool: claim.spec.warmPoolRef.name,
    template: claim.metadata.labels?.[RouterKeys.Template] ?? templateOfPool,
    displayName: annotations[RouterKeys.DisplayName],
    labels: claim.metadata.labels ?? {},
    sandboxName: boundSandboxName(claim),
    podIPs: podIPs && podIPs.length > 0 ? podIPs : undefined,
    createTime: claim.metadata.creationTimestamp ? new Date(claim.metadata.creationTimestamp).toISOString() : undefined,
    expireTime: claim.spec.lifecycle?.shutdownTime,
    ttlSeconds: Number.isInteger(ttl) && ttl > 0 ? ttl : undefined,
  };
}
