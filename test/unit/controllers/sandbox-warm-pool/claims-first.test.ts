import { describe, expect, it } from "vitest";
import { claimsFirstHold, isWaitingClaim } from "../../../../src/controllers/sandbox-warm-pool/claims-first.js";
import { maxClaimsFirstHoldMs } from "../../../../src/controllers/shared/claims-first-gate.js";

const base = { waitingClaims: 5, readyMembers: 2, heldSinceMs: undefined, nowMs: 10_000 };

describe("claimsFirstHold", () => {
  it("holds the pool's writes back while claims wait and Ready members can serve them", () => {
    expect(claimsFirstHold(base)).toEqual({ hold: true, sinceMs: 10_000, recheckAfterMs: maxClaimsFirstHoldMs });
  });

  it("keeps the start of the streak and shortens the recheck as the hold goes on", () => {
    expect(claimsFirstHold({ ...base, heldSinceMs: 9_500 })).toEqual({
      hold: true,
      sinceMs: 9_500,
      recheckAfterMs: maxClaimsFirstHoldMs - 500,
    });
  });

  it("lets the pool write once the hold has lasted its maximum, even with claims still waiting", () => {
    expect(claimsFirstHold({ ...base, heldSinceMs: 10_000 - maxClaimsFirstHoldMs })).toEqual({ hold: false });
  });

  it("does not hold when no claim waits or no Ready member is left to give", () => {
    expect(claimsFirstHold({ ...base, waitingClaims: 0 })).toEqual({ hold: false });
    expect(claimsFirstHold({ ...base, readyMembers: 0 })).toEqual({ hold: false });
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
