import type { SandboxClaim } from "../../api/index.js";
import { findCondition } from "../../runtime/index.js";

/**
 * When the claim expires, in epoch ms: the earlier of lifecycle.shutdownTime
 * and the Finished condition's transition time plus ttlSecondsAfterFinished.
 * Undefined when nothing bounds its life. Pure.
 */
export function claimExpiresAt(claim: SandboxClaim): number | undefined {
  const lifecycle = claim.spec.lifecycle;
  const candidates: number[] = [];
  if (lifecycle?.shutdownTime) candidates.push(Date.parse(lifecycle.shutdownTime));
  const finished = findCondition(claim.status?.conditions, "Finished");
  if (lifecycle?.ttlSecondsAfterFinished !== undefined && finished?.status === "True") {
    candidates.push(Date.parse(finished.lastTransitionTime) + lifecycle.ttlSecondsAfterFinished * 1000);
  }
  const valid = candidates.filter((t) => Number.isFinite(t));
  return valid.length > 0 ? Math.min(...valid) : undefined;
}
