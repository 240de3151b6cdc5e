import { describe, expect, it } from "vitest";
import { claimAnnotationsToSet, isAdoptedSandbox } from "../../../../src/controllers/sandbox-claim/claim-annotations.js";

const OBSERVED = "agents.x-k8s.io/controller-first-observed-at";
const SANDBOX = "agents.x-k8s.io/sandbox-name";

describe("claimAnnotationsToSet", () => {
  it("stamps the first-observed time on a claim that has none", () => {
    expect(claimAnnotationsToSet(undefined, { firstObservedAt: "2026-07-19T15:27:56.851234Z" })).toEqual({
      [OBSERVED]: "2026-07-19T15:27:56.851234Z",
    });
  });

  it("never replaces a first-observed time, but fills an empty one (as upstream does)", () => {
    expect(claimAnnotationsToSet({ [OBSERVED]: "2026-01-01T00:00:00Z" }, { firstObservedAt: "2026-07-19T15:27:56Z" })).toBeUndefined();
    expect(claimAnnotationsToSet({ [OBSERVED]: "" }, { firstObservedAt: "2026-07-19T15:27:56Z" })).toEqual({
      [OBSERVED]: "2026-07-19T15:27:56Z",
    });
  });

  it("names the adopted Sandbox, and corrects a name that differs", () => {
    expect(claimAnnotationsToSet({ other: "x" }, { adoptedSandbox: "pool-abcde" })).toEqual({ [SANDBOX]: "pool-abcde" });
    expect(claimAnnotationsToSet({ [SANDBOX]: "pool-old" }, { adoptedSandbox: "pool-abcde" })).toEqual({ [SANDBOX]: "pool-abcde" });
    expect(claimAnnotationsToSet({ [SANDBOX]: "pool-abcde" }, { adoptedSandbox: "pool-abcde" })).toBeUndefined();
  });

  it("sets both in one patch, and removes nothing", () => {
    expect(claimAnnotationsToSet({ [SANDBOX]: "stale" }, { firstObservedAt: "t", adoptedSandbox: "pool-abcde" })).toEqual({
      [OBSERVED]: "t",
      [SANDBOX]: "pool-abcde",
    });
    expect(claimAnnotationsToSet({ [SANDBOX]: "stale" }, {})).toBeUndefined();
  });
});

describe("isAdoptedSandbox", () => {
  const sb = (name: string, launchType?: string) => ({
    metadata: { name, ...(launchType ? { labels: { "agents.x-k8s.io/launch-type": launchType } } : {}) },
  });

  it("goes by the launch-type label", () => {
    expect(isAdoptedSandbox("c", sb("pool-abcde", "warm"))).toBe(true);
    expect(isAdoptedSandbox("c", sb("c", "cold"))).toBe(false);
    expect(isAdoptedSandbox("c", sb("c", "warm"))).toBe(true);
  });

  it("without one, by the name: only a cold-started Sandbox bears the claim's", () => {
    expect(isAdoptedSandbox("c", sb("c"))).toBe(false);
    expect(isAdoptedSandbox("c", sb("pool-abcde"))).toBe(true);
  });
});
