import { describe, expect, it } from "vitest";
import { boundedHold, ClaimsFirstGate, maxClaimsFirstHoldMs } from "../../../../src/controllers/shared/claims-first-gate.js";

describe("ClaimsFirstGate", () => {
  it("is not busy until attached, and lets writes through at once when no claim waits", async () => {
    const gate = new ClaimsFirstGate();
    expect(gate.busy()).toBe(false);
    let passed = false;
    await gate.yield(10_000).then(() => (passed = true));
    expect(passed).toBe(true);
  });

  it("holds a write while claims wait and lets it go as soon as they are answered", async () => {
    const gate = new ClaimsFirstGate({ checkEveryMs: 5 });
    let waiting = 3;
    gate.attach(() => waiting > 0);
    let released = false;
    const held = gate.yield(60_000).then(() => (released = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(released).toBe(false);
    waiting = 0;
    await held;
    expect(released).toBe(true);
  });

  it("never holds longer than its bound, however long claims keep waiting", async () => {
    const gate = new ClaimsFirstGate({ checkEveryMs: 5 });
    gate.attach(() => true);
    let released = false;
    const held = gate.yield(40).then(() => (released = true));
    await held;
    expect(released).toBe(true);
    expect(gate.busy()).toBe(true);
  });

  it("stops holding when its signal aborts", async () => {
    const gate = new ClaimsFirstGate({ checkEveryMs: 5 });
    gate.attach(() => true);
    const ctl = new AbortController();
    const held = gate.yield(60_000, ctl.signal);
    ctl.abort();
    await expect(held).resolves.toBeUndefined();
  });
});

describe("boundedHold", () => {
  it("holds from the first pass that wants it and counts the bound from the start of the streak", () => {
    expect(boundedHold(true, undefined, 5_000)).toEqual({ hold: true, sinceMs: 5_000, recheckAfterMs: maxClaimsFirstHoldMs });
    expect(boundedHold(true, 5_000, 8_000)).toEqual({ hold: true, sinceMs: 5_000, recheckAfterMs: maxClaimsFirstHoldMs - 3_000 });
  });

  it("lets the write through once the bound is reached, or when it no longer wants to hold", () => {
    expect(boundedHold(true, 5_000, 5_000 + maxClaimsFirstHoldMs)).toEqual({ hold: false });
    expect(boundedHold(false, 5_000, 6_000)).toEqual({ hold: false });
  });
});
