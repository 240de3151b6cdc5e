// Every execute resets a sandbox's TTL (as hosted code-execution services do), but the claim is written at
// most once per interval: executes in between only move an in-memory deadline, and a trailing
// write records the latest one. The interval is kept under a third of the TTL so a claim can
// never expire between two writes while it is in use.
import { RouterKeys, SandboxClaimGVK, toShutdownTime } from "../api/index.js";
import { keyOf, type Kube, type Logger } from "../runtime/index.js";
import type { ClaimObject, RouterCaches } from "./caches.js";
import { CoalescedWrites, type WriteOutcome, type WriteTarget } from "./coalesced-writes.js";
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

/** The TTL the router manages for a claim (set at creation), or undefined if it has none. */
export function managedTtlSeconds(claim: ClaimObject): number | undefined {
  const ttl = Number(claim.metadata.annotations?.[RouterKeys.TtlSeconds]);
  return Number.isInteger(ttl) && ttl > 0 ? ttl : undefined;
}

export class TtlExtender {
  readonly #o: TtlExtenderOptions;
  /** Claim key -> the latest deadline asked for, epoch ms. */
  readonly #writes: CoalescedWrites<number>;

  constructor(o: TtlExtenderOptions) {
    this.#o = o;
    this.#writes = new CoalescedWrites<number>({
      write: (target, deadline) => this.#write(target, deadline),
      merge: (held, next) => Math.max(held, next),
      count: (result) => {
        if (result !== "gone") o.metrics.ttlWrites.inc({ result });
      },
      logger: o.logger,
      failure: "Could not extend the sandbox TTL",
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /**
   * Records an execute on `claim`. Claims without a router-managed TTL (for example a
   * shutdownTime set by hand) are left alone.
   */
  touch(claim: ClaimObject): void {
    const ttl = managedTtlSeconds(claim);
    if (ttl === undefined || claim.metadata.deletionTimestamp) return;
    const now = this.#o.now ? this.#o.now() : Date.now();
    const deadline = now + Math.min(ttl, this.#o.maxTtlSeconds) * 1000;
    this.#o.metrics.ttlExtensions.inc();
    const target = { namespace: claim.metadata.namespace ?? "", name: claim.metadata.name ?? "" };
    this.#writes.touch(keyOf(claim), target, deadline, Math.min(this.#o.writeIntervalMs, Math.floor((ttl * 1000) / 3)));
  }

  async #write(target: WriteTarget, deadline: number): Promise<WriteOutcome> {
    const current = this.#o.caches.claims.get(target.namespace, target.name);
    if (!current || current.metadata.deletionTimestamp) return "gone";
    // Never move it backwards (another replica may have written a later time).
    const currentMs = current.spec.lifecycle?.shutdownTime ? Date.parse(current.spec.lifecycle.shutdownTime) : 0;
    if (currentMs >= Math.ceil(deadline / 1000) * 1000) return "skipped";
    await this.#o.kube.patch(
      { apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace: target.namespace, name: target.name },
      { spec: { lifecycle: { shutdownTime: toShutdownTime(deadline) } } },
      { type: "merge" },
    );
    return "ok";
  }

  /** Claims with a write scheduled or remembered (for tests and metrics). */
  pendingCount(): number {
    return this.#writes.pendingCount();
  }

  /** Writes outstanding deadlines now (graceful shutdown) and stops accepting touches. */
  flushAll(): Promise<void> {
    return this.#writes.flushAll();
  }
}
