import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CoalescedWrites, type WriteOutcome } from "../../../src/router/coalesced-writes.js";
import { silentLogger } from "../../../src/runtime/index.js";

function recorder(outcome: WriteOutcome = "ok") {
  const writes: Array<{ name: string; value: number; at: number }> = [];
  const counts: string[] = [];
  const w = new CoalescedWrites<number>({
    write: (target, value) => {
      writes.push({ name: target.name, value, at: Date.now() });
      return Promise.resolve(outcome);
    },
    merge: (held, next) => Math.max(held, next),
    count: (result) => counts.push(result),
    logger: silentLogger(),
    failure: "could not write",
    now: () => Date.now(),
  });
  return { w, writes, counts };
}

const target = { namespace: "ns", name: "a" };

describe("CoalescedWrites", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes the first touch at once, then one trailing write per interval with the latest value", async () => {
    const { w, writes, counts } = recorder();
    w.touch("ns/a", target, 1, 1_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([{ name: "a", value: 1, at: 1_000_000 }]);
    w.touch("ns/a", target, 3, 1_000);
    w.touch("ns/a", target, 2, 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(writes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes[1]).toEqual({ name: "a", value: 3, at: 1_001_000 });
    expect(counts).toEqual(["ok", "ok"]);
  });

  it("forgets a key after a quiet interval, so the next touch writes at once again", async () => {
    const { w, writes } = recorder();
    w.touch("ns/a", target, 1, 1_000);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.pendingCount()).toBe(0);
    w.touch("ns/a", target, 5, 1_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(writes.map((x) => x.value)).toEqual([1, 5]);
  });

  it("stops tracking a key whose object is gone", async () => {
    const { w, counts } = recorder("gone");
    w.touch("ns/a", target, 1, 1_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(w.pendingCount()).toBe(0);
    expect(counts).toEqual(["gone"]);
  });

  it("writes what is held at shutdown, then takes no more touches", async () => {
    const { w, writes } = recorder();
    w.touch("ns/a", target, 1, 60_000);
    await vi.advanceTimersByTimeAsync(0);
    w.touch("ns/a", target, 7, 60_000);
    await w.flushAll();
    expect(writes.map((x) => x.value)).toEqual([1, 7]);
    w.touch("ns/a", target, 9, 60_000);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(writes.map((x) => x.value)).toEqual([1, 7]);
  });
});
