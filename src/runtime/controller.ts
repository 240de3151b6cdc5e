// The reconcile driver: N workers pull keys from a WorkQueue and call reconcile(key, ctx).
// Each branch of the outcome maps to exactly one queue operation (controller-runtime's
// reconcileHandler): throw -> addRateLimited (unless TerminalError), requeueAfter -> forget +
// addAfter, otherwise forget. Reconciles are level-triggered: they receive a key, not an event.
import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { runtimeMetrics } from "./metrics.js";
import { splitKey } from "./keys.js";
import { WorkQueue, type RateLimiter, type TokenBucket } from "./workqueue.js";

/** Throw this for failures a retry cannot fix (e.g. an invalid spec): logged and counted, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export interface ReconcileContext {
  key: string;
  /** Empty for cluster-scoped objects. */
  namespace: string;
  name: string;
  /** Aborted on the per-reconcile timeout or when the controller stops; pass it to every API call. */
  signal: AbortSignal;
  /** Child logger bound to {controller, key, reconcileID}. */
  log: Logger;
  reconcileID: string;
}

// `void` lets a reconcile simply return; an object may ask for a timed requeue.
export type ReconcileResult = { requeueAfter?: number } | void;

export interface ControllerOptions {
  /** Used in logs and metric labels; must be unique per process. */
  name: string;
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult>;
  /** Concurrent reconciles (different keys only). Default 1. */
  workers?: number;
  /** Per-reconcile timeout in ms, surfaced through ctx.signal. Default 60_000. */
  timeoutMs?: number;
  logger?: Logger;
  rateLimiter?: RateLimiter;
  bucket?: TokenBucket;
  registry?: Registry;
}

export interface Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  /** Enqueues a key now. Informer handlers call this (through the helpers in informer.ts). */
  enqueue(key: string): void;
  /** Starts the workers; resolves once they have all exited after stop(). */
  start(): Promise<void>;
  /**
   * Stops intake and waits up to `drainMs` for in-flight reconciles; after that their signals are
   * aborted and stop() resolves once they return. Returns true if the drain finished in time.
   */
  stop(drainMs?: number): Promise<boolean>;
}

export function defineController(opts: ControllerOptions): Controller {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`controller ${opts.name}: workers must be an integer >= 1, got ${workers}`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const log = (opts.logger ?? silentLogger()).child({ controller: opts.name });
  const m = runtimeMetrics(opts.registry);
  const queue = new WorkQueue({
    ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}),
    ...(opts.bucket ? { bucket: opts.bucket } : {}),
    observer: {
      depth: (d) => m.queueDepth.set({ name: opts.name }, d),
      added: () => m.queueAdds.inc({ name: opts.name }),
      retried: () => m.queueRetries.inc({ name: opts.name }),
    },
  });
  // Aborted when a drain deadline passes, cancelling every in-flight reconcile.
  const stopAll = new AbortController();
  let running: Promise<void> | undefined;
  m.maxWorkers.set({ controller: opts.name }, workers);
  m.activeWorkers.set({ controller: opts.name }, 0);

  async function processOne(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const rlog = log.child({ key, reconcileID });
    // One controller per reconcile, wired by hand rather than AbortSignal.any() so nothing stays
    // attached to the long-lived stopAll signal after the reconcile ends.
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort(new DOMException(`reconcile exceeded ${timeoutMs} ms`, "TimeoutError"));
    }, timeoutMs);
    const onStop = (): void => ctl.abort(stopAll.signal.reason);
    stopAll.signal.addEventListener("abort", onStop, { once: true });
    const signal = ctl.signal;
    const started = performance.now();
    m.activeWorkers.inc({ controller: opts.name });
    try {
      let parsed;
      try {
        parsed = splitKey(key);
      } catch (err) {
        throw new TerminalError(`Invalid work-queue key: ${String(err)}`);
      }
      const result = await opts.reconcile(key, { key, namespace: parsed.namespace, name: parsed.name, signal, log: rlog, reconcileID });
      const after = result?.requeueAfter;
      if (after !== undefined && after > 0) {
        queue.forget(key);
        queue.addAfter(key, after);
        m.reconcileTotal.inc({ controller: opts.name, result: "requeue_after" });
      } else {
        queue.forget(key);
        m.reconcileTotal.inc({ controller: opts.name, result: "success" });
      }
    } catch (err) {
      if (timedOut) m.reconcileTimeouts.inc({ controller: opts.name });
      if (err instanceof TerminalError) {
        m.terminalErrors.inc({ controller: opts.name });
        m.reconcileTotal.inc({ controller: opts.name, result: "terminal_error" });
        queue.forget(key);
        rlog.error({ err }, "Reconciler failed with a terminal error; not requeued");
      } else {
        // Anything thrown that is not an Error is the closest JS gets to a Go panic.
        if (!(err instanceof Error)) m.reconcilePanics.inc({ controller: opts.name });
        m.reconcileErrors.inc({ controller: opts.name });
        m.reconcileTotal.inc({ controller: opts.name, result: "error" });
        queue.addRateLimited(key);
        rlog.error({ err, retries: queue.numRequeues(key) }, "Reconciler failed; requeued with backoff");
      }
    } finally {
      clearTimeout(timer);
      stopAll.signal.removeEventListener("abort", onStop);
      m.activeWorkers.dec({ controller: opts.name });
      m.reconcileDuration.observe({ controller: opts.name }, (performance.now() - started) / 1000);
      queue.done(key);
    }
  }

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await processOne(key);
      } catch (err) {
        // processOne catches everything; this guards against a throwing logger or metric.
        log.error({ err, key }, "Worker failed outside the reconciler");
      }
    }
  }

  return {
    name: opts.name,
    queue,
    enqueue: (key) => queue.add(key),
    start() {
      if (running) throw new Error(`controller ${opts.name}: already started`);
      log.info({ workers }, "Starting workers");
      running = Promise.all(Array.from({ length: workers }, () => worker())).then(() => {
        log.info("Workers stopped");
      });
      return running;
    },
    async stop(drainMs = 20_000) {
      queue.shutDown();
      if (!running) return true;
      if (drainMs <= 0) {
        // No drain (leadership lost): abort in-flight reconciles now, not on a later tick, so a
        // request one of them has queued is cancelled before the event loop can send it.
        stopAll.abort(new Error(`controller ${opts.name} stopped`));
        await running;
        return false;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), drainMs);
      });
      const drained = await Promise.race([running.then(() => true as const), deadline]);
      clearTimeout(timer);
      if (!drained) {
        log.warn({ drainMs }, "Drain deadline passed; aborting in-flight reconciles");
        stopAll.abort(new Error(`controller ${opts.name} stopped`));
        await running;
      }
      return drained;
    },
  };
}
