// Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection:
//  * expiry of someone else's lease is judged from the time WE observed its record change
//    (observedAt + leaseDurationSeconds), never from renewTime against our clock, so clock skew
//    between replicas does not matter;
//  * every takeover/renew is a replace carrying the resourceVersion we read (409 = someone else won);
//  * times are written as metav1.MicroTime (six fractional digits, as the API expects);
//  * a leader that cannot renew within renewDeadline stops leading (its signal is aborted) before
//    the lease can expire for the others (leaseDuration > renewDeadline > retryPeriod * 1.2);
//  * stop({ release: true }) after the guarded work has stopped hands over at once.
// Like client-go, this is not fencing: reconciles must stay idempotent.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Connection } from "./connection.js";
import { Kube, type ObjectRef } from "./kube.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { runtimeMetrics } from "./metrics.js";
import { microTime } from "./micro-time.js";

/** coordination.k8s.io/v1 LeaseSpec as it is on the wire (times are MicroTime strings). */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
type Lease = KubernetesObject & { spec?: LeaseSpec };

export interface LeaderElectionOptions {
  /** Where the Lease lives: a Kube (shared with the controllers), or what to build one from. */
  kube?: Kube;
  kc?: KubeConfig | Connection;
  namespace: string;
  /** Lease name, e.g. "agent-sandbox-ts-leader". */
  name: string;
  /** Default `${POD_NAME ?? hostname}_${uuid}`. */
  identity?: string;
  /** Whole seconds, in ms. Default 15_000. */
  leaseDurationMs?: number;
  /** Default 10_000. */
  renewDeadlineMs?: number;
  /** Default 2_000. */
  retryPeriodMs?: number;
  logger?: Logger;
  registry?: Registry;
  /** Called once leadership is acquired; `signal` aborts when leadership ends for any reason. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when leadership ends (lost, or stopped while leading). */
  onStoppedLeading?(): void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
}

/** How run() ended. */
export type ElectionOutcome = "stopped" | "lost";

const JITTER = 1.2;

function errCode(e: unknown): number | undefined {
  return e && typeof e === "object" && "code" in e && typeof (e as { code: unknown }).code === "number"
    ? (e as { code: number }).code
    : undefined;
}

function recordKey(s: LeaseSpec | undefined): string {
  return JSON.stringify([
    s?.holderIdentity ?? "",
    s?.leaseDurationSeconds ?? 0,
    s?.leaseTransitions ?? 0,
    s?.acquireTime ?? "",
    s?.renewTime ?? "",
  ]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export class LeaderElector {
  readonly identity: string;
  readonly #o: LeaderElectionOptions;
  readonly #kube: Kube;
  readonly #ref: ObjectRef;
  readonly #log: Logger;
  readonly #leaseSeconds: number;
  readonly #renewDeadline: number;
  readonly #retry: number;
  readonly #stop = new AbortController();
  #release = false;
  #observedRecord = "";
  #observedAt = 0;
  #observedHolder = "";
  #leading: AbortController | undefined;
  #lastRenewAt = 0;
  #stateKnown = false;
  #running: Promise<ElectionOutcome> | undefined;

  constructor(opts: LeaderElectionOptions) {
    const lease = opts.leaseDurationMs ?? 15_000;
    const renew = opts.renewDeadlineMs ?? 10_000;
    const retry = opts.retryPeriodMs ?? 2_000;
    if (!(lease > renew)) throw new Error(`leader election: leaseDuration (${lease} ms) must be greater than renewDeadline (${renew} ms)`);
    if (!(renew > retry * JITTER))
      throw new Error(`leader election: renewDeadline (${renew} ms) must be greater than retryPeriod*${JITTER} (${retry * JITTER} ms)`);
    if (!(retry > 0)) throw new Error("leader election: retryPeriod must be positive");
    if (lease % 1000 !== 0)
      throw new Error(`leader election: leaseDuration must be whole seconds (the Lease stores seconds), got ${lease} ms`);
    if (!opts.namespace || !opts.name) throw new Error("leader election: namespace and name are required");
    this.#o = opts;
    this.#leaseSeconds = lease / 1000;
    this.#renewDeadline = renew;
    this.#retry = retry;
    this.identity = opts.identity ?? `${process.env["POD_NAME"] ?? hostname()}_${randomUUID()}`;
    if (opts.kube) this.#kube = opts.kube;
    else if (opts.kc) this.#kube = new Kube(opts.kc);
    else throw new Error("leader election: kube or kc is required");
    this.#ref = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: opts.namespace, name: opts.name };
    // Lease is a built-in kind: no discovery round trip before the first campaign.
    this.#kube.registerResource(this.#ref, { plural: "leases", namespaced: true });
    this.#log = (opts.logger ?? silentLogger()).child({
      component: "leader-election",
      lease: `${opts.namespace}/${opts.name}`,
      identity: this.identity,
    });
  }

  isLeader(): boolean {
    return this.#leading !== undefined && !this.#leading.signal.aborted;
  }

  /** True once the first acquire attempt finished, i.e. we know whether we lead. */
  stateKnown(): boolean {
    return this.#stateKnown;
  }

  /** The holder we last observed ("" if none). */
  observedLeader(): string {
    return this.#observedHolder;
  }

  /** Time of the last successful acquire/renew (epoch ms), 0 if never. */
  lastRenewAt(): number {
    return this.#lastRenewAt;
  }

  /** Leading but the renewal is overdue by more than `toleranceMs` past leaseDuration (liveness check). */
  renewOverdue(toleranceMs = 0): boolean {
    return this.isLeader() && Date.now() - this.#lastRenewAt > this.#leaseSeconds * 1000 + toleranceMs;
  }

  /** Campaigns, then renews while leading. Resolves "lost" if leadership was lost, "stopped" after stop(). */
  run(): Promise<ElectionOutcome> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /**
   * Stops campaigning/renewing. With release=true (only after all guarded work has stopped) the
   * lease is handed back so another replica takes over at once; otherwise it expires after
   * leaseDuration, which is what a crash looks like.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#release = opts.release ?? false;
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<ElectionOutcome> {
    const m = runtimeMetrics(this.#o.registry);
    const stop = this.#stop.signal;
    // Campaign.
    while (!stop.aborted) {
      let ok = false;
      try {
        ok = await this.#tryAcquireOrRenew();
      } catch (err) {
        this.#log.warn({ err }, "Failed to acquire lease");
      }
      this.#stateKnown = true;
      if (ok) break;
      await sleep(this.#retry * (1 + Math.random() * JITTER), stop);
    }
    if (stop.aborted) return "stopped";

    const leading = new AbortController();
    this.#leading = leading;
    this.#lastRenewAt = Date.now();
    m.leaderStatus.set({ name: this.#o.name }, 1);
    this.#log.info("Acquired lease; started leading");
    try {
      this.#o.onStartedLeading(leading.signal);
    } catch (err) {
      this.#log.error({ err }, "onStartedLeading threw");
    }

    // Renew.
    let outcome: ElectionOutcome = "stopped";
    let lost = false;
    const lose = (why: string): void => {
      if (lost || stop.aborted) return;
      lost = true;
      this.#log.error({ renewDeadlineMs: this.#renewDeadline, why }, "Stopped leading");
      // Synchronously, so whoever listens (the manager halting its workers) acts before any
      // other callback of this process runs.
      leading.abort(new Error("leader election lost"));
    };
    const wake = AbortSignal.any([stop, leading.signal]);
    // A process frozen past its renew deadline (GC pause, SIGSTOP, CPU starvation) may already
    // have been replaced. This timer is overdue the moment it runs again, so it stands down
    // before the renew loop (or anything else) gets a turn.
    const watchdog = setInterval(
      () => {
        if (Date.now() - this.#lastRenewAt >= this.#renewDeadline) lose("not renewed within the renew deadline (the process did not run)");
      },
      Math.max(20, Math.min(250, this.#retry / 2)),
    );
    while (!wake.aborted) {
      await sleep(this.#retry, wake);
      if (wake.aborted) break;
      // From the last renewal, not from now: time spent frozen counts against the deadline.
      const deadline = this.#lastRenewAt + this.#renewDeadline;
      let renewed = false;
      while (!wake.aborted && Date.now() < deadline) {
        const attemptAt = Date.now();
        try {
          renewed = await this.#withDeadline(this.#tryAcquireOrRenew(), deadline - Date.now());
        } catch (err) {
          this.#log.warn({ err }, "Failed to renew lease");
        }
        if (renewed) {
          // The lease runs from when we asked, not from when the answer came.
          this.#lastRenewAt = attemptAt;
          break;
        }
        // Someone else holds a valid lease now: retrying cannot win it back before they act.
        if (this.#observedHolder && this.#observedHolder !== this.identity) {
          lose(`lease taken over by ${this.#observedHolder}`);
          break;
        }
        await sleep(Math.min(this.#retry, Math.max(0, deadline - Date.now())), wake);
      }
      if (renewed && !lost) continue;
      lose("failed to renew the lease within the renew deadline");
      break;
    }
    clearInterval(watchdog);
    if (lost) outcome = "lost";

    leading.abort(new Error(outcome === "lost" ? "leader election lost" : "leader election stopped"));
    m.leaderStatus.set({ name: this.#o.name }, 0);
    try {
      this.#o.onStoppedLeading?.();
    } catch (err) {
      this.#log.error({ err }, "onStoppedLeading threw");
    }
    if (outcome === "stopped" && this.#release) await this.#releaseLease();
    return outcome;
  }

  #withDeadline(p: Promise<boolean>, ms: number): Promise<boolean> {
    // A hung request must not keep us "leading" past the deadline.
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve(false), Math.max(0, ms));
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  #observe(spec: LeaseSpec | undefined, now: number): void {
    const key = recordKey(spec);
    if (key !== this.#observedRecord) {
      this.#observedRecord = key;
      this.#observedAt = now;
    }
    const holder = spec?.holderIdentity ?? "";
    if (holder !== this.#observedHolder) {
      this.#observedHolder = holder;
      if (holder) {
        this.#log.info({ holder }, "Observed new leader");
        try {
          this.#o.onNewLeader?.(holder);
        } catch (err) {
          this.#log.error({ err }, "onNewLeader threw");
        }
      }
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.#o;
    const now = Date.now();
    let lease: Lease;
    try {
      lease = await this.#kube.get<Lease>(this.#ref);
    } catch (err) {
      if (errCode(err) !== 404) throw err;
      try {
        const created = await this.#kube.create<Lease>({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.#leaseSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.#observe(created.spec, now);
        return true;
      } catch (e) {
        if (errCode(e) === 409) return false; // another candidate created it first
        throw e;
      }
    }

    const spec = lease.spec;
    this.#observe(spec, now);
    const holder = spec?.holderIdentity ?? "";
    const durationMs = (spec?.leaseDurationSeconds ?? this.#leaseSeconds) * 1000;
    if (holder && holder !== this.identity && this.#observedAt + durationMs > now) return false;

    const renewing = holder === this.identity;
    const next: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      // Carrying the resourceVersion we read makes this a compare-and-swap.
      metadata: { ...lease.metadata, name, namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseSeconds,
        acquireTime: renewing && spec?.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: renewing ? (spec?.leaseTransitions ?? 0) : (spec?.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      const updated = await this.#kube.replace<Lease>(next);
      this.#observe(updated.spec, now);
      return true;
    } catch (e) {
      if (errCode(e) === 409) return false;
      throw e;
    }
  }

  async #releaseLease(): Promise<void> {
    const { namespace, name } = this.#o;
    try {
      const lease = await this.#kube.get<Lease>(this.#ref);
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime();
      await this.#kube.replace<Lease>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: lease.metadata ?? { name, namespace },
        spec: { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec?.leaseTransitions ?? 0 },
      });
      this.#log.info("Released lease");
    } catch (err) {
      this.#log.warn({ err }, "Failed to release lease; it will expire instead");
    }
  }
}
