// One or more replicas of the compiled operator as separate processes, scoped to one namespace
// (watch and Lease), that a fault test can SIGKILL, SIGSTOP and SIGCONT. A supervisor restarts a
// replica that died, as the kubelet would restart its container. Each replica's /metrics tells
// how many reconciles it ran (a follower must run none).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { V1Lease } from "@kubernetes/client-node";
import type { Kube } from "../../../src/runtime/index.js";
import { startOperatorProcess, type OperatorProcess } from "../../../bench/lib/operator-process.js";
import { freePort } from "../harness/processes.js";

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface FleetOptions {
  kubeconfig: string;
  namespace: string;
  logDir: string;
  /** With a Lease (named "faults-leader" in the namespace) or without. */
  leaderElect: boolean;
  timings?: LeaseTimings;
  logLevel?: string;
}

export interface Replica {
  id: string;
  port: number;
  proc: OperatorProcess;
  /** Starts of this replica (1 + restarts). */
  generation: number;
  /** Set when the test killed it on purpose (the supervisor leaves those alone). */
  killedByTest: boolean;
}

export const LEASE_NAME = "faults-leader";

/** Small PRNG (mulberry32), so a fault schedule is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class OperatorFleet {
  readonly #o: FleetOptions;
  readonly replicas = new Map<string, Replica>();
  /** Restarts by the supervisor after a replica died on its own (not killed by the test). */
  unexpectedExits = 0;
  #closing = false;

  constructor(opts: FleetOptions) {
    this.#o = opts;
    mkdirSync(opts.logDir, { recursive: true });
  }

  async start(id: string): Promise<Replica> {
    if (this.#closing) throw new Error(`operator fleet closed; not starting ${id}`);
    const prev = this.replicas.get(id);
    const port = prev?.port ?? (await freePort());
    const t = this.#o.timings;
    const args = [
      `--namespace=${this.#o.namespace}`,
      `--health-address=127.0.0.1:${port}`,
      `--leader-elect=${this.#o.leaderElect}`,
      `--leader-election-namespace=${this.#o.namespace}`,
      `--leader-election-id=${LEASE_NAME}`,
      ...(t
        ? [
            `--leader-elect-lease-duration=${t.leaseDurationMs}ms`,
            `--leader-elect-renew-deadline=${t.renewDeadlineMs}ms`,
            `--leader-elect-retry-period=${t.retryPeriodMs}ms`,
          ]
        : []),
    ];
    const proc = await startOperatorProcess(this.#o.kubeconfig, args, {
      logFile: join(this.#o.logDir, `operator-${id}.log`),
      logLevel: this.#o.logLevel ?? "info",
      // The Lease identity starts with POD_NAME, so a holder can be mapped back to its replica.
      env: { POD_NAME: id },
    });
    const replica: Replica = { id, port, proc, generation: (prev?.generation ?? 0) + 1, killedByTest: false };
    this.replicas.set(id, replica);
    // Supervisor: a replica that exits without being asked (lost lease, crash) is started again.
    void proc.exited.then(async () => {
      if (this.#closing || this.replicas.get(id) !== replica || replica.killedByTest) return;
      this.unexpectedExits++;
      await new Promise((r) => setTimeout(r, 500));
      if (!this.#closing && this.replicas.get(id) === replica) await this.start(id).catch(() => undefined);
    });
    return replica;
  }

  get(id: string): Replica {
    const r = this.replicas.get(id);
    if (!r) throw new Error(`no operator replica ${id}`);
    return r;
  }

  /** SIGKILL (no lease release, no drain). restart=true starts it again at once. */
  async kill(id: string, restart: boolean): Promise<void> {
    const r = this.get(id);
    r.killedByTest = true;
    await r.proc.kill();
    if (restart) await this.start(id);
  }

  pause(id: string): void {
    process.kill(this.get(id).proc.pid, "SIGSTOP");
  }

  resume(id: string): void {
    process.kill(this.get(id).proc.pid, "SIGCONT");
  }

  /** Sum of controller_runtime_reconcile_total over controllers, from the replica's /metrics. */
  async reconciles(id: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.get(id).port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    let total = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("controller_runtime_reconcile_total{")) total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  }

  /** The replica id holding the Lease (by its identity's POD_NAME prefix), or undefined. */
  async holder(kube: Kube): Promise<string | undefined> {
    const lease = await kube.getOrUndefined<V1Lease & { apiVersion: string; kind: string }>({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: this.#o.namespace,
      name: LEASE_NAME,
    });
    const identity = lease?.spec?.holderIdentity;
    if (!identity) return undefined;
    return identity.split("_")[0];
  }

  /** SIGTERM every replica; one that has not exited after 10 s is SIGKILLed (none outlives the fleet). */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      [...this.replicas.values()].map(async (r) => {
        const grace = setTimeout(() => void r.proc.kill(), 10_000);
        await r.proc.stop();
        clearTimeout(grace);
      }),
    );
  }
}
