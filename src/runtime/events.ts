// Event recorder writing events.k8s.io/v1 Events. Best-effort: failures are logged, never thrown,
// so recording can not break a reconcile. Two guards keep a hot loop from flooding the API:
//  * aggregation: a repeat of the same (object, type, reason, action, note) within `seriesWindowMs`
//    does not create a new Event; it bumps series.count, flushed at most every `seriesFlushMs`;
//  * a per-object token bucket (burst 25, then 1 new Event per 5 min, like client-go's spam filter)
//    drops new Events beyond that.
// Writes go out at most `maxConcurrentWrites` at a time (client-go's broadcaster writes one at a
// time too): Events are the least urgent writes, and under a burst of claims they would otherwise
// take API server time from the claims themselves. Beyond `maxQueuedWrites` waiting, new Events
// are dropped (and logged) rather than held in memory without bound.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
// p-limit: a small, widely used concurrency limiter with a visible queue length.
import pLimit, { type LimitFunction } from "p-limit";
import type { ObjectIdentity } from "./keys.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { microTime } from "./micro-time.js";
import type { Kube } from "./kube.js";
import { TokenBucket } from "./workqueue.js";

export type EventType = "Normal" | "Warning";

export interface EventInput {
  type: EventType;
  /** PascalCase, machine-readable, e.g. "SandboxAdopted". */
  reason: string;
  /** What was done, e.g. "Adopt", "Create" (events.k8s.io/v1 requires it). Defaults to reason. */
  action?: string;
  /** Human-readable; truncated to 1 KiB as the API requires. */
  note: string;
  /** A second object involved (e.g. the adopted Sandbox of a claim). */
  related?: ObjectIdentity;
}

export interface EventRecorderOptions {
  kube: Kube;
  /** e.g. "agents.x-k8s.io/agent-sandbox-controller" */
  reportingController: string;
  /** Defaults to POD_NAME or the hostname. */
  reportingInstance?: string;
  logger?: Logger;
  seriesWindowMs?: number;
  seriesFlushMs?: number;
  perObjectBurst?: number;
  perObjectRefillPerSec?: number;
  /** Event writes in flight at once (default 2). */
  maxConcurrentWrites?: number;
  /** Event writes allowed to wait for a slot before new Events are dropped (default 1000). */
  maxQueuedWrites?: number;
  /** Awaited in a write slot before each write: lets more urgent writes go first. */
  beforeWrite?: () => Promise<void>;
}

interface Series {
  namespace: string;
  name: string | undefined; // undefined until the create returned
  count: number;
  flushedCount: number;
  firstAt: number;
  lastAt: number;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
}

interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

function refTo(o: ObjectIdentity): ObjectReference {
  const r: ObjectReference = {};
  if (o.apiVersion) r.apiVersion = o.apiVersion;
  if (o.kind) r.kind = o.kind;
  if (o.metadata?.namespace) r.namespace = o.metadata.namespace;
  if (o.metadata?.name) r.name = o.metadata.name;
  if (o.metadata?.uid) r.uid = o.metadata.uid;
  if (o.metadata?.resourceVersion) r.resourceVersion = o.metadata.resourceVersion;
  return r;
}

export class EventRecorder {
  readonly #o: Required<Omit<EventRecorderOptions, "logger" | "reportingInstance" | "beforeWrite">> & { reportingInstance: string };
  readonly #beforeWrite: () => Promise<void>;
  readonly #writes: LimitFunction;
  readonly #log: Logger;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #inflight = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: EventRecorderOptions) {
    this.#o = {
      kube: opts.kube,
      reportingController: opts.reportingController,
      reportingInstance: (opts.reportingInstance ?? process.env["POD_NAME"] ?? hostname()).slice(0, 128),
      seriesWindowMs: opts.seriesWindowMs ?? 10 * 60_000,
      seriesFlushMs: opts.seriesFlushMs ?? 30_000,
      perObjectBurst: opts.perObjectBurst ?? 25,
      perObjectRefillPerSec: opts.perObjectRefillPerSec ?? 1 / 300,
      maxConcurrentWrites: opts.maxConcurrentWrites ?? 2,
      maxQueuedWrites: opts.maxQueuedWrites ?? 1000,
    };
    this.#writes = pLimit(this.#o.maxConcurrentWrites);
    this.#beforeWrite = opts.beforeWrite ?? (() => Promise.resolve());
    this.#log = (opts.logger ?? silentLogger()).child({ component: "events" });
  }

  /** Records an event about `regarding`. Never throws; the write happens in the background. */
  event(regarding: ObjectIdentity, ev: EventInput): void {
    if (this.#closed) return;
    const uid = regarding.metadata?.uid ?? `${regarding.kind}/${regarding.metadata?.namespace}/${regarding.metadata?.name}`;
    const action = ev.action ?? ev.reason;
    const note = ev.note.length > 1024 ? ev.note.slice(0, 1021) + "..." : ev.note;
    const seriesKey = JSON.stringify([uid, ev.type, ev.reason, action, note, ev.related?.metadata?.uid ?? ""]);
    const now = Date.now();
    const s = this.#series.get(seriesKey);
    if (s && now - s.lastAt < this.#o.seriesWindowMs) {
      s.count++;
      s.lastAt = now;
      this.#scheduleFlush(s);
      return;
    }
    if (s) {
      clearTimeout(s.flushTimer);
      this.#series.delete(seriesKey);
    }
    let bucket = this.#buckets.get(uid);
    if (!bucket) {
      bucket = new TokenBucket({ qps: this.#o.perObjectRefillPerSec, burst: this.#o.perObjectBurst });
      this.#buckets.set(uid, bucket);
    }
    if (!bucket.tryTake()) {
      this.#log.debug({ reason: ev.reason, object: regarding.metadata?.name }, "Event dropped by the per-object rate limit");
      return;
    }
    if (this.#writes.pendingCount >= this.#o.maxQueuedWrites) {
      this.#log.warn(
        { reason: ev.reason, object: regarding.metadata?.name, queued: this.#writes.pendingCount },
        "Event dropped: too many Event writes waiting",
      );
      return;
    }
    this.#pruneSeries(now);
    const namespace = regarding.metadata?.namespace || "default";
    const series: Series = { namespace, name: undefined, count: 1, flushedCount: 1, firstAt: now, lastAt: now, flushTimer: undefined };
    this.#series.set(seriesKey, series);
    const name = `${(regarding.metadata?.name ?? "object").slice(0, 200)}.${randomBytes(8).toString("hex")}`;
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace },
      eventTime: microTime(now),
      type: ev.type,
      reason: ev.reason,
      action,
      note,
      regarding: refTo(regarding),
      ...(ev.related ? { related: refTo(ev.related) } : {}),
      reportingController: this.#o.reportingController,
      reportingInstance: this.#o.reportingInstance,
    };
    this.#track(
      this.#writes(async () => {
        await this.#beforeWrite();
        return this.#o.kube.create(body);
      })
        .then(() => {
          series.name = name;
          if (series.count > series.flushedCount) this.#scheduleFlush(series);
        })
        .catch((err: unknown) => this.#log.warn({ err, reason: ev.reason }, "Failed to record event")),
    );
  }

  #scheduleFlush(s: Series): void {
    if (s.flushTimer || s.name === undefined) return;
    s.flushTimer = setTimeout(() => {
      s.flushTimer = undefined;
      this.#flushSeries(s);
    }, this.#o.seriesFlushMs);
    s.flushTimer.unref?.();
  }

  #flushSeries(s: Series): void {
    if (s.name === undefined || s.count === s.flushedCount) return;
    const count = s.count;
    this.#track(
      this.#writes(async () => {
        await this.#beforeWrite();
        return this.#o.kube.patch(
          { apiVersion: "events.k8s.io/v1", kind: "Event", namespace: s.namespace, name: s.name ?? "" },
          { series: { count, lastObservedTime: microTime(s.lastAt) } },
          { type: "merge" },
        );
      })
        .then(() => {
          s.flushedCount = Math.max(s.flushedCount, count);
        })
        .catch((err: unknown) => this.#log.warn({ err }, "Failed to update event series")),
    );
  }

  #pruneSeries(now: number): void {
    if (this.#series.size < 4096) return;
    for (const [k, s] of this.#series) {
      if (now - s.lastAt >= this.#o.seriesWindowMs && !s.flushTimer) this.#series.delete(k);
    }
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  /** Writes pending series counts now and waits for every in-flight write. */
  async flush(): Promise<void> {
    // Creates must land first so series updates have a name to patch.
    await Promise.all([...this.#inflight]);
    for (const s of this.#series.values()) {
      clearTimeout(s.flushTimer);
      s.flushTimer = undefined;
      this.#flushSeries(s);
    }
    await Promise.all([...this.#inflight]);
  }

  /** Flushes and stops accepting events (graceful shutdown). */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
