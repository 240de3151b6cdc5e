import { describe, expect, it } from "vitest";
import { FirstObserved } from "../../../../src/controllers/sandbox-claim/first-observed.js";

const OBSERVED = "agents.x-k8s.io/controller-first-observed-at";
const base = BigInt(Date.parse("2026-07-19T15:27:56Z")) * 1_000_000n;

/** A clock that moves 1.5 ms (and a few ns) per reading. */
function steppingClock(): () => bigint {
  let t = base + 123_456n;
  return () => (t += 1_500_007n);
}
const claim = (uid: string, annotations?: Record<string, string>) => ({ metadata: { uid, ...(annotations ? { annotations } : {}) } });

describe("FirstObserved", () => {
  it("keeps the time of the first event, whatever comes after", () => {
    const f = new FirstObserved(steppingClock());
    f.observe(claim("u1"));
    f.observe(claim("u1"));
    expect(f.stampFor(claim("u1"))).toBe("2026-07-19T15:27:56.001623463Z");
    expect(f.stampFor(claim("u1"))).toBe("2026-07-19T15:27:56.001623463Z");
  });

  it("stamps nothing on a claim that carries the annotation, and drops its entry once an event shows it", () => {
    const f = new FirstObserved(steppingClock());
    f.observe(claim("u1"));
    expect(f.stampFor(claim("u1", { [OBSERVED]: "2026-01-01T00:00:00Z" }))).toBeUndefined();
    f.observe(claim("u1", { [OBSERVED]: "2026-01-01T00:00:00Z" }));
    expect(f.size).toBe(0);
  });

  it("observes a claim no event reported at the first pass, and forgets a deleted one", () => {
    const f = new FirstObserved(steppingClock());
    const first = f.stampFor(claim("u2"));
    expect(first).toBe("2026-07-19T15:27:56.001623463Z");
    expect(f.stampFor(claim("u2"))).toBe(first);
    f.forget(claim("u2"));
    expect(f.size).toBe(0);
    expect(f.stampFor(claim("u2"))).not.toBe(first);
  });

  it("tells claims apart by uid (a claim recreated under the same name is a new one)", () => {
    const f = new FirstObserved(steppingClock());
    f.observe(claim("old"));
    f.observe(claim("new"));
    expect(f.stampFor(claim("old"))).not.toBe(f.stampFor(claim("new")));
  });

  it("re-stamps a claim whose annotation was removed, from the event that showed the removal", () => {
    const f = new FirstObserved(steppingClock());
    f.observe(claim("u1", { [OBSERVED]: "2026-01-01T00:00:00Z" }));
    f.observe(claim("u1", {}));
    expect(f.stampFor(claim("u1", {}))).toBe("2026-07-19T15:27:56.001623463Z");
  });
});
