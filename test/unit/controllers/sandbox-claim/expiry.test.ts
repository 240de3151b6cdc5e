import { describe, expect, it } from "vitest";
import { claimExpiresAt } from "../../../../src/controllers/sandbox-claim/expiry.js";
import { makeClaim } from "../fixtures.js";

const finishedAt = "2026-05-01T12:00:00Z";
const finished = (status: "True" | "False" = "True") => ({
  conditions: [{ type: "Finished", status, reason: "PodSucceeded", message: "", lastTransitionTime: finishedAt }],
});

describe("claimExpiresAt", () => {
  it("is undefined when nothing bounds the claim's life", () => {
    expect(claimExpiresAt(makeClaim())).toBeUndefined();
    expect(claimExpiresAt(makeClaim({ lifecycle: { shutdownPolicy: "Delete" } }))).toBeUndefined();
  });

  it("is the shutdownTime", () => {
    expect(claimExpiresAt(makeClaim({ lifecycle: { shutdownTime: "2026-05-01T13:00:00Z" } }))).toBe(Date.parse("2026-05-01T13:00:00Z"));
  });

  it("honours a shutdownTime offset", () => {
    expect(claimExpiresAt(makeClaim({ lifecycle: { shutdownTime: "2026-05-01T15:00:00+02:00" } }))).toBe(
      Date.parse("2026-05-01T13:00:00Z"),
    );
  });

  it("is the Finished transition plus ttlSecondsAfterFinished", () => {
    const claim = makeClaim({ lifecycle: { ttlSecondsAfterFinished: 90 } }, finished());
    expect(claimExpiresAt(claim)).toBe(Date.parse(finishedAt) + 90_000);
  });

  it("is the Finished transition itself for a ttl of 0", () => {
    expect(claimExpiresAt(makeClaim({ lifecycle: { ttlSecondsAfterFinished: 0 } }, finished()))).toBe(Date.parse(finishedAt));
  });

  it("ignores the ttl until the claim is Finished", () => {
    expect(claimExpiresAt(makeClaim({ lifecycle: { ttlSecondsAfterFinished: 90 } }))).toBeUndefined();
    expect(claimExpiresAt(makeClaim({ lifecycle: { ttlSecondsAfterFinished: 90 } }, finished("False")))).toBeUndefined();
  });

  it("ignores a Finished condition without a ttl", () => {
    expect(claimExpiresAt(makeClaim({}, finished()))).toBeUndefined();
  });

  it("takes the earlier of the two", () => {
    const early = "2026-05-01T12:00:30Z";
    const late = "2026-05-01T18:00:00Z";
    expect(claimExpiresAt(makeClaim({ lifecycle: { shutdownTime: late, ttlSecondsAfterFinished: 60 } }, finished()))).toBe(
      Date.parse(finishedAt) + 60_000,
    );
    expect(claimExpiresAt(makeClaim({ lifecycle: { shutdownTime: early, ttlSecondsAfterFinished: 60 } }, finished()))).toBe(
      Date.parse(early),
    );
  });
});
