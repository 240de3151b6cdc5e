/**
 * Claims first: while claims on a pool are still waiting for a sandbox and the pool has Ready
 * members to give them, the pool holds back its refill for a short while. A refill member costs
 * the API server five to eight writes (Sandbox, Secret, NetworkPolicy, Pod, statuses) against a
 * warm claim's two, so refilling in the middle of a burst of claims multiplies every claim's
 * latency (measured: p99 6-12 s for 100 concurrent claims with the refill racing them). The hold
 * is bounded so a claim that can never bind (refused by policy, say) cannot starve the pool.
 */
export const maxRefillDeferralMs = 1_500;

export interface RefillDeferralInput {
  /** Members the plan wants to create now. */
  create: number;
  /** Claims on this pool that have no sandbox yet. */
  waitingClaims: number;
  /** Ready members not yet adopted. */
  readyMembers: number;
  /** When this pool's refill was first held back in the current streak, if it is. */
  deferredSinceMs: number | undefined;
  nowMs: number;
}

export type RefillDeferral = { defer: false } | { defer: true; sinceMs: number; recheckAfterMs: number };

export function refillDeferral(input: RefillDeferralInput): RefillDeferral {
  if (input.create <= 0 || input.waitingClaims <= 0 || input.readyMembers <= 0) return { defer: false };
  const sinceMs = input.deferredSinceMs ?? input.nowMs;
  const heldMs = input.nowMs - sinceMs;
  if (heldMs >= maxRefillDeferralMs) return { defer: false };
  // Claim status changes re-enqueue the pool, so this timer only bounds the hold.
  return { defer: true, sinceMs, recheckAfterMs: maxRefillDeferralMs - heldMs };
}
