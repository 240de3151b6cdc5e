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

describe("ClaimBindings pending bindings", () => {
  it("tells how long a pending binding has left, so the claim looks again when it runs out", () => {
    const b = new ClaimBindings();
    expect(b.pendingForMs("claim-1", 0)).toBeUndefined();
    b.bind("claim-1", "pool-abcde", 1_000);
    expect(b.pendingForMs("claim-1", 1_000)).toBe(60_000);
    expect(b.pendingForMs("claim-1", 31_000)).toBe(30_000);
    expect(b.pendingForMs("claim-1", 61_000)).toBeUndefined();
    b.bind("claim-2", "pool-fghij", 0);
    b.settle("claim-2");
    expect(b.pendingForMs("claim-2", 1)).toBeUndefined();
  });
});
