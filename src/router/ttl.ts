// Every execute resets a sandbox's TTL (as hosted code-execution services do), but the claim is written at
// most once per interval: executes in between only move an in-memory deadline, and a trailing
// write records the latest one. The interval is kept under a third of the TTL so a claim can
// never expire between two writes while it is in use.
import { RouterKeys, SandboxClaimGVK, toShutdownTime } from "../api/index.js";
import { keyOf, type Kube, type Logger } from "../runtime/index.js";
import type { ClaimObject, RouterCaches } from "./caches.js";
import type { RouterMetrics } from "./metrics.js";

export interface TtlExtenderOptions {
  kube: Kube;
  caches: RouterCaches;
  logger: Logger;
  metrics: RouterMetrics;
  writeIntervalMs: number;
  maxTtlSeconds: number;
  now?: () => number;
}

interface Pending {
  namespace: string;
  name: string;
  /** Latest deadline asked for, epoch ms. */
  deadline: number;
  lastWriteAt: number | undefined;
  intervalMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  writing: Promise<void> | undefined;
}

/** The TTL the router manages for a claim (set at creation), or undefined if it has none. */
export function managedTtlSeconds(claim: ClaimObject): number | undefined {
  const ttl = Number(claim.metadata.annotations?.[RouterKeys.TtlSeconds]);
  return Number.isInteger(ttl) && ttl > 0 ? ttl : undefined;
}

export class TtlExtender {
  readonly #o: TtlExtenderOptions;
  readonly #pending = new Map<string, Pending>();
  #stopped = false;

  constructor(o: TtlExtenderOptions) {
    this.#o = o;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }

  /**
   * Records an execute on `claim`. Claims without a router-managed TTL (for example a
   * shutdownTime set by hand) are left alone.
   */
  touch(claim: ClaimObject): void {
    const ttl = managedTtlSeconds(claim);
    if (ttl === undefined || this.#stopped || claim.metadata.deletionTimestamp) return;
    const now = this.#now();
    const namespace = claim.metadata.namespace ?? "";
    const name = claim.metadata.name ?? "";
    const key = keyOf(claim);
    const deadline = now + Math.min(ttl, this.#o.maxTtlSeconds) * 1000;
    this.#o.metrics.ttlExtensions.inc();
    let p = this.#pending.get(key);
    if (!p) {
      p = { namespace, name, deadline, lastWriteAt: undefined, intervalMs: 0, timer: undefined, writing: undefined };
      this.#pending.set(key, p);
    }
    p.deadline = Math.max(p.deadline, deadline);
    p.intervalMs = Math.min(this.#o.writeIntervalMs, Math.floor((ttl * 1000) / 3));
    if (p.timer) return;
    const dueAt = p.lastWriteAt === undefined ? now : p.lastWriteAt + p.intervalMs;
    p.timer = setTimeout(() => void this.#flush(key), Math.max(0, dueAt - now));
    p.timer.unref();
  }

  async #flush(key: string): Promise<void> {
    const p = this.#pending.get(key);
    if (!p) return;
    p.timer = undefined;
    const deadline = p.deadline;
    p.lastWriteAt = this.#now();
    const current = this.#o.caches.claims.get(p.namespace, p.name);
    const currentMs = current?.spec.lifecycle?.shutdownTime ? Date.parse(current.spec.lifecycle.shutdownTime) : 0;
    if (!current || current.metadata.deletionTimestamp) {
      this.#pending.delete(key);
      return;
    }
    // Never move it backwards (another replica may have written a later time).
    if (currentMs >= Math.ceil(deadline / 1000) * 1000) {
      this.#o.metrics.ttlWrites.inc({ result: "skipped" });
      this.#forgetLater(key, p);
      return;
    }
    const write = this.#o.kube
      .patch(
        { apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace: p.namespace, name: p.name },
        { spec: { lifecycle: { shutdownTime: toShutdownTime(deadline) } } },
        { type: "merge" },
      )
      .then(
        () => {
          this.#o.metrics.ttlWrites.inc({ result: "ok" });
        },
        (err: unknown) => {
          this.#o.metrics.ttlWrites.inc({ result: "error" });
          this.#o.logger.warn({ err, claim: key }, "Could not extend the sandbox TTL");
        },
      );
    p.writing = write;
    await write;
    p.writing = undefined;
    this.#forgetLater(key, p);
  }

  /** Forgets the claim once a whole interval passes without another execute. */
  #forgetLater(key: string, p: Pending): void {
    setTimeout(() => {
      if (!p.timer && this.#pending.get(key) === p) this.#pending.delete(key);
    }, p.intervalMs).unref();
  }

  /** Claims with a write scheduled or remembered (for tests and metrics). */
  pendingCount(): number {
    return this.#pending.size;
  }

  /** Writes outstanding deadlines now (graceful shutdown) and stops accepting touches. */
  async flushAll(): Promise<void> {
    this.#stopped = true;
    const work: Promise<void>[] = [];
    for (const [key, p] of this.#pending) {
      if (p.timer) {
        clearTimeout(p.timer);
        work.push(this.#flush(key));
      } else if (p.writing) work.push(p.writing);
    }
    await Promise.all(work);
  }
}
