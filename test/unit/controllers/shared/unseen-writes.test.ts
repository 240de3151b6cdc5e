import { describe, expect, it } from "vitest";
import { UnseenWrites } from "../../../../src/controllers/shared/unseen-writes.js";

const status = {
  conditions: [{ type: "Ready", status: "True", reason: "SandboxReady", lastTransitionTime: "2026-11-22T07:00:00Z" }],
  sandbox: { name: "pool-abcde" },
};

describe("UnseenWrites", () => {
  it("skips the same write over the same cached resourceVersion", () => {
    const w = new UnseenWrites();
    w.sent("ns/c", "100", status);
    expect(w.alreadySent("ns/c", "100", status)).toBe(true);
  });

  it("treats a recomputed lastTransitionTime as the same write", () => {
    const w = new UnseenWrites();
    w.sent("ns/c", "100", status);
    const later = { ...status, conditions: [{ ...status.conditions[0], lastTransitionTime: "2026-11-22T07:00:01Z" }] };
    expect(w.alreadySent("ns/c", "100", later)).toBe(true);
  });

  it("writes again when the content differs, the key differs or nothing was sent", () => {
    const w = new UnseenWrites();
    w.sent("ns/c", "100", status);
    expect(w.alreadySent("ns/c", "100", { ...status, sandbox: { name: "pool-fghij" } })).toBe(false);
    expect(w.alreadySent("ns/other", "100", status)).toBe(false);
    expect(new UnseenWrites().alreadySent("ns/c", "100", status)).toBe(false);
  });

  it("forgets the write once the cache has moved past the resourceVersion it was sent over", () => {
    const w = new UnseenWrites();
    w.sent("ns/c", "100", status);
    // The cache now shows our write (or someone else's): the same content must be written again
    // if it is ever wanted over this newer version, so nothing may be skipped.
    expect(w.alreadySent("ns/c", "101", status)).toBe(false);
    expect(w.size).toBe(0);
    expect(w.alreadySent("ns/c", "100", status)).toBe(false);
  });

  it("holds over our own later write too, until the cache moves past both", () => {
    const w = new UnseenWrites();
    // Sent over 100 after a metadata patch of ours turned 100 into 101.
    w.sent("ns/c", "100", status, "101");
    expect(w.alreadySent("ns/c", "100", status)).toBe(true);
    expect(w.alreadySent("ns/c", "101", status)).toBe(true);
    expect(w.alreadySent("ns/c", "102", status)).toBe(false);
    expect(w.size).toBe(0);
  });

  it("never skips when the cached object has no resourceVersion, and forgets on request", () => {
    const w = new UnseenWrites();
    w.sent("ns/c", undefined, status);
    expect(w.size).toBe(0);
    w.sent("ns/c", "100", status);
    expect(w.alreadySent("ns/c", undefined, status)).toBe(false);
    w.forget("ns/c");
    expect(w.alreadySent("ns/c", "100", status)).toBe(false);
  });
});
