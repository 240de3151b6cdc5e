import { describe, expect, it } from "vitest";
import { isWaitingClaim, maxRefillDeferralMs, refillDeferral } from "../../../../src/controllers/sandbox-warm-pool/refill-deferral.js";

const base = { create: 3, waitingClaims: 5, readyMembers: 2, deferredSinceMs: undefined, nowMs: 10_000 };

describe("refillDeferral", () => {
  it("holds the refill back while claims wait and Ready members can serve them", () => {
    expect(refillDeferral(base)).toEqual({ defer: true, sinceMs: 10_000, recheckAfterMs: maxRefillDeferralMs });
  });

  it("keeps the start of the streak and shortens the recheck as the hold goes on", () => {
    expect(refillDeferral({ ...base, deferredSinceMs: 9_500 })).toEqual({ defer: true, sinceMs: 9_500, recheckAfterMs: maxRefillDeferralMs - 500 });
  });

  it("refills once the hold has lasted its maximum, even with claims still waiting", () => {
    expect(refillDeferral({ ...base, deferredSinceMs: 10_000 - maxRefillDeferralMs })).toEqual({ defer: false });
  });

  it("refills at once when no claim waits, nothing is missing, or no Ready member is left to give", () => {
    expect(refillDeferral({ ...base, waitingClaims: 0 })).toEqual({ defer: false });
    expect(refillDeferral({ ...base, create: 0 })).toEqual({ defer: false });
    expect(refillDeferral({ ...base, readyMembers: 0 })).toEqual({ defer: false });
  });
});

describe("isWaitingClaim", () => {
  it("counts a claim nobody has answered yet", () => {
    expect(isWaitingClaim({})).toBe(true);
    expect(isWaitingClaim({ status: { conditions: [] } })).toBe(true);
  });

  it("does not count a bound, a refused or a deleted claim", () => {
    expect(isWaitingClaim({ status: { sandbox: { name: "pool-abcde" } } })).toBe(false);
    expect(isWaitingClaim({ status: { conditions: [{ type: "Ready" }] } })).toBe(false);
    expect(isWaitingClaim({ metadata: { deletionTimestamp: "2026-11-22T00:00:00Z" } })).toBe(false);
  });
});
