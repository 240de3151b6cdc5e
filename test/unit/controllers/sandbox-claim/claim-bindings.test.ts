import { describe, expect, it } from "vitest";
import { ClaimBindings } from "../../../../src/controllers/sandbox-claim/reconciler.js";

describe("ClaimBindings adopted members", () => {
  it("hides an adopted member while the cache still shows its pre-adoption version", () => {
    const b = new ClaimBindings();
    b.markAdopted("ns/pool-a", "41", 1_000);
    expect(b.adoptedButNotCached("ns/pool-a", "41", 1_001)).toBe(true);
    expect(b.adoptedButNotCached("ns/pool-b", "41", 1_001)).toBe(false);
  });

  it("forgets the member once the cache shows a newer version", () => {
    const b = new ClaimBindings();
    b.markAdopted("ns/pool-a", "41", 1_000);
    expect(b.adoptedButNotCached("ns/pool-a", "42", 1_001)).toBe(false);
    // Forgotten for good: even the old version no longer hides it.
    expect(b.adoptedButNotCached("ns/pool-a", "41", 1_002)).toBe(false);
  });

  it("forgets the member after a minute so a lost watch event cannot hide it forever", () => {
    const b = new ClaimBindings();
    b.markAdopted("ns/pool-a", "41", 1_000);
    expect(b.adoptedButNotCached("ns/pool-a", "41", 61_000)).toBe(false);
  });
});
