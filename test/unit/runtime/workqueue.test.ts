import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExponentialBackoff, TokenBucket, WorkQueue } from "../../../src/runtime/workqueue.js";

const noJitter = () => new ExponentialBackoff({ baseMs: 5, maxMs: 300_000, jitter: 0 });

describe("WorkQueue", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("hands keys out in FIFO order and de-duplicates queued keys", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    q.add("c");
    expect(q.len()).toBe(3);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(await q.get()).toBe("c");
    expect(q.len()).toBe(0);
  });

  it("100 adds during one in-flight reconcile produce exactly one follow-up", async () => {
    const q = new WorkQueue();
    q.add("ns/x");
    const k = await q.get();
    expect(k).toBe("ns/x");
    for (let i = 0; i < 100; i++) q.add("ns/x");
    // Not handed out again while processing.
    expect(q.len()).toBe(0);
    q.done("ns/x");
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("ns/x");
    q.done("ns/x");
    expect(q.len()).toBe(0);
  });

  it("never hands the same key to two concurrent workers", async () => {
    const q = new WorkQueue();
    const running = new Set<string>();
    let maxConcurrentSameKey = 0;
    let processed = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (running.has(key)) maxConcurrentSameKey = 2;
        running.add(key);
        await new Promise((r) => setTimeout(r, 10));
        // Re-adds during processing must come back later, not now.
        q.add(key);
        running.delete(key);
        processed++;
        q.done(key);
        if (processed >= 60) q.shutDown();
      }
    };
    for (const k of ["a", "b", "c"]) q.add(k);
    const workers = Promise.all([worker(), worker(), worker(), worker()]);
    await vi.advanceTimersByTimeAsync(2_000);
    await workers;
    expect(processed).toBeGreaterThanOrEqual(60);
    expect(maxConcurrentSameKey).toBe(0);
  });

  it("addAfter keeps the earliest deadline", async () => {
    const q = new WorkQueue();
    q.addAfter("k", 1_000);
    q.addAfter("k", 100);
    q.addAfter("k", 5_000);
    expect(q.waitingCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(1);
    expect(q.waitingCount()).toBe(0);
    expect(await q.get()).toBe("k");
    q.done("k");
    // The later deadlines were replaced, not kept: nothing else arrives.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(q.len()).toBe(0);
  });

  it("addRateLimited backs off exponentially per key and forget() resets it", async () => {
    const q = new WorkQueue({ rateLimiter: noJitter() });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      q.addRateLimited("k");
      // Advance until the key appears.
      let waited = 0;
      while (q.len() === 0) {
        await vi.advanceTimersByTimeAsync(1);
        waited++;
      }
      delays.push(Date.now() - before);
      expect(await q.get()).toBe("k");
      q.done("k");
      expect(waited).toBeGreaterThan(0);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80]);
    expect(q.numRequeues("k")).toBe(5);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
    q.addRateLimited("k");
    await vi.advanceTimersByTimeAsync(4);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(1);
  });

  it("backoff is per key", () => {
    const rl = noJitter();
    expect(rl.when("a")).toBe(5);
    expect(rl.when("a")).toBe(10);
    expect(rl.when("b")).toBe(5);
    expect(rl.when("a")).toBe(20);
  });

  it("backoff is capped and jitter stays within bounds", () => {
    const capped = new ExponentialBackoff({ baseMs: 5, maxMs: 300_000, jitter: 0 });
    let last = 0;
    for (let i = 0; i < 200; i++) last = capped.when("k");
    expect(last).toBe(300_000);
    const jittered = new ExponentialBackoff({ baseMs: 100, maxMs: 1_000_000, jitter: 0.1, random: () => 0.5 });
    expect(jittered.when("k")).toBeCloseTo(105);
    expect(jittered.when("k")).toBeCloseTo(210);
  });

  it("rejects nonsensical backoff settings with a clear error", () => {
    expect(() => new ExponentialBackoff({ baseMs: 0 })).toThrow(/baseMs/);
    expect(() => new ExponentialBackoff({ baseMs: 10, maxMs: 5 })).toThrow(/maxMs/);
    expect(() => new ExponentialBackoff({ jitter: 2 })).toThrow(/jitter/);
  });

  it("the global token bucket delays retries beyond its burst", async () => {
    const bucket = new TokenBucket({ qps: 10, burst: 2 });
    const q = new WorkQueue({ rateLimiter: new ExponentialBackoff({ baseMs: 1, maxMs: 1, jitter: 0 }), bucket });
    q.addRateLimited("a");
    q.addRateLimited("b");
    q.addRateLimited("c"); // bucket empty: waits ~100 ms for a token
    await vi.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(2);
    await vi.advanceTimersByTimeAsync(98);
    expect(q.len()).toBe(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(q.len()).toBe(3);
  });

  it("a delayed add and a direct add of the same key yield one queued entry", async () => {
    const q = new WorkQueue();
    q.addAfter("k", 50);
    q.add("k");
    await vi.advanceTimersByTimeAsync(60);
    expect(q.len()).toBe(1);
  });

  it("shutDown wakes waiting getters with undefined and ignores later adds", async () => {
    const q = new WorkQueue();
    const pending = q.get();
    q.addAfter("later", 10);
    q.shutDown();
    expect(await pending).toBeUndefined();
    q.add("x");
    await vi.advanceTimersByTimeAsync(20);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(q.shuttingDown).toBe(true);
  });

  it("a waiting getter receives the next added key", async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add("k");
    expect(await p).toBe("k");
    expect(q.processingCount()).toBe(1);
    q.add("k");
    expect(q.len()).toBe(0);
    q.done("k");
    expect(q.len()).toBe(1);
  });
});
