import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineController, TerminalError, type ReconcileResult } from "../../../src/runtime/controller.js";
import { ExponentialBackoff } from "../../../src/runtime/workqueue.js";

function setup(reconcile: (key: string, attempt: number, signal: AbortSignal) => Promise<ReconcileResult>, workers = 1) {
  const calls: string[] = [];
  const attempts = new Map<string, number>();
  const registry = new Registry();
  const c = defineController({
    name: `test-${Math.random()}`,
    workers,
    registry,
    rateLimiter: new ExponentialBackoff({ baseMs: 100, maxMs: 10_000, jitter: 0 }),
    reconcile: async (key, ctx) => {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      calls.push(`${key}#${n}`);
      return reconcile(key, n, ctx.signal);
    },
  });
  void c.start();
  return { c, calls, registry };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe("defineController", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("retries a throwing reconcile with growing backoff until it succeeds", async () => {
    const { c, calls, registry } = setup(async (_k, n) => {
      if (n < 3) throw new Error("boom");
    });
    c.enqueue("ns/a");
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(["ns/a#1"]);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["ns/a#1", "ns/a#2"]);
    await vi.advanceTimersByTimeAsync(199);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["ns/a#1", "ns/a#2", "ns/a#3"]);
    // Success forgot the backoff.
    expect(c.queue.numRequeues("ns/a")).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(3);
    expect(await metricValue(registry, "controller_runtime_reconcile_total", { result: "error" })).toBe(2);
    expect(await metricValue(registry, "controller_runtime_reconcile_total", { result: "success" })).toBe(1);
    await c.stop(1000);
  });

  it("does not retry a TerminalError", async () => {
    const { c, calls, registry } = setup(async () => {
      throw new TerminalError("invalid spec");
    });
    c.enqueue("ns/a");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(["ns/a#1"]);
    expect(await metricValue(registry, "controller_runtime_terminal_reconcile_errors_total", {})).toBe(1);
    await c.stop(1000);
  });

  it("survives a non-Error throw and counts it as a panic", async () => {
    const { c, calls, registry } = setup(async (_k, n) => {
      if (n === 1) throw "not an error object";
    });
    c.enqueue("ns/a");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(["ns/a#1", "ns/a#2"]);
    expect(await metricValue(registry, "controller_runtime_reconcile_panics_total", {})).toBe(1);
    await c.stop(1000);
  });

  it("requeueAfter schedules the next reconcile and resets backoff", async () => {
    const { c, calls } = setup(async (_k, n) => {
      if (n === 1) throw new Error("first fails");
      return n < 4 ? { requeueAfter: 5_000 } : undefined;
    });
    c.enqueue("ns/a");
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(2);
    expect(c.queue.numRequeues("ns/a")).toBe(0);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(4);
    await c.stop(1000);
  });

  it("runs different keys concurrently but never the same key twice at once", async () => {
    const active = new Set<string>();
    let overlap = false;
    let maxActive = 0;
    const { c } = setup(async (key) => {
      if (active.has(key)) overlap = true;
      active.add(key);
      maxActive = Math.max(maxActive, active.size);
      await new Promise((r) => setTimeout(r, 50));
      active.delete(key);
    }, 3);
    for (let i = 0; i < 30; i++) c.enqueue(`ns/k${i % 3}`);
    await vi.advanceTimersByTimeAsync(10);
    for (let i = 0; i < 30; i++) c.enqueue(`ns/k${i % 3}`);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(overlap).toBe(false);
    expect(maxActive).toBe(3);
    await c.stop(1000);
  });

  it("stop(0) aborts in-flight reconciles at once, before any other callback can run (lost leadership)", async () => {
    let signal: AbortSignal | undefined;
    const { c } = setup(
      (_k, _n, s) =>
        new Promise<void>((resolve) => {
          signal = s;
          s.addEventListener("abort", () => resolve(), { once: true });
        }),
    );
    c.enqueue("ns/a");
    await vi.advanceTimersByTimeAsync(1);
    expect(signal?.aborted).toBe(false);
    const stopped = c.stop(0);
    // Synchronously: a request this reconcile has queued must not go out on the next tick.
    expect(signal?.aborted).toBe(true);
    await stopped;
  });

  it("stop() aborts in-flight reconciles after the drain deadline", async () => {
    let sawAbort = false;
    const { c } = setup(
      (_k, _n, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            sawAbort = true;
            resolve();
          });
        }),
    );
    c.enqueue("ns/hang");
    await vi.advanceTimersByTimeAsync(1);
    const stopped = c.stop(500);
    await vi.advanceTimersByTimeAsync(500);
    expect(await stopped).toBe(false);
    expect(sawAbort).toBe(true);
  });

  it("rejects an invalid key as terminal instead of looping", async () => {
    const { c, calls } = setup(async () => undefined);
    c.enqueue("a/b/c");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([]);
    await c.stop(100);
  });
});

describe("defineController timeouts", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("aborts ctx.signal after timeoutMs, counts a timeout and retries", async () => {
    const registry = new Registry();
    const reasons: string[] = [];
    let calls = 0;
    const c = defineController({
      name: "timeout-test",
      registry,
      timeoutMs: 1_000,
      rateLimiter: new ExponentialBackoff({ baseMs: 100, maxMs: 100, jitter: 0 }),
      reconcile: (_key, ctx) =>
        new Promise<void>((resolve, reject) => {
          calls++;
          if (calls > 1) return resolve();
          ctx.signal.addEventListener("abort", () => {
            reasons.push((ctx.signal.reason as Error).name);
            reject(ctx.signal.reason as Error);
          });
        }),
    });
    void c.start();
    c.enqueue("ns/slow");
    await vi.advanceTimersByTimeAsync(999);
    expect(reasons).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reasons).toEqual(["TimeoutError"]);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
    expect(await metricValue(registry, "controller_runtime_reconcile_timeouts_total", {})).toBe(1);
    await c.stop(100);
  });
});
