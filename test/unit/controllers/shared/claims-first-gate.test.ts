import { describe, expect, it } from "vitest";
import { boundedHold, ClaimsFirstGate, maxClaimsFirstHoldMs } from "../../../../src/controllers/shared/claims-first-gate.js";
import { WorkQueue } from "../../../../src/runtime/index.js";

/** A gate on a real work queue holding one claim key, handed out and not yet done. */
async function gateWithClaimInHand(): Promise<{ gate: ClaimsFirstGate; queue: WorkQueue; key: string }> {
  const queue = new WorkQueue();
  const gate = new ClaimsFirstGate();
  gate.attach(queue);
  queue.add("ns/claim");
  const key = (await queue.get()) ?? "";
  return { gate, queue, key };
}

describe("ClaimsFirstGate", () => {
  it("is not busy until attached, and lets writes through at once when no claim waits", async () => {
    const gate = new ClaimsFirstGate();
    expect(gate.busy()).toBe(false);
    await gate.yield(10_000);
    gate.attach(new WorkQueue());
    expect(gate.busy()).toBe(false);
    let passed = false;
    await gate.yield(10_000).then(() => (passed = true));
    expect(passed).toBe(true);
  });

  it("holds a write while a claim is queued or in hand, and lets it go when the queue empties", async () => {
    const { gate, queue, key } = await gateWithClaimInHand();
    expect(gate.busy()).toBe(true);
    let released = false;
    const held = gate.yield(60_000).then(() => (released = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(released).toBe(false);
    queue.done(key);
    await held;
    expect(released).toBe(true);
    expect(gate.busy()).toBe(false);
  });

  it("keeps holding while the claim re-added during its pass is queued again", async () => {
    const { gate, queue, key } = await gateWithClaimInHand();
    let released = false;
    const held = gate.yield(60_000).then(() => (released = true));
    queue.add(key);
    queue.done(key);
    await new Promise((r) => setTimeout(r, 30));
    expect(released).toBe(false);
    queue.done((await queue.get()) ?? "");
    await held;
    expect(released).toBe(true);
  });

  it("never holds longer than its bound, however long claims keep waiting", async () => {
    const { gate } = await gateWithClaimInHand();
    const started = Date.now();
    await gate.yield(40);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(gate.busy()).toBe(true);
  });

  it("stops holding when its signal aborts, or when the queue shuts down", async () => {
    const { gate, queue } = await gateWithClaimInHand();
    const ctl = new AbortController();
    const held = gate.yield(60_000, ctl.signal);
    ctl.abort();
    await expect(held).resolves.toBeUndefined();
    const again = gate.yield(60_000);
    queue.shutDown();
    await expect(again).resolves.toBeUndefined();
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
