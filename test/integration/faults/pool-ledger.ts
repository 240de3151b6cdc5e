// Counts warm-pool member creations against what the pool needed, for the no-over-creation
// invariant. Watches Sandboxes in one namespace (through the project's Informer, which re-lists
// after errors and 410 Gone) and remembers every uid it ever saw with launch-type=warm: the pool
// sets that label at creation and adoption keeps it, so a member is counted even when first seen
// after a claim adopted it. Needed = every increase of spec.replicas the driver made (from 0)
// + members claims adopted out of the pool + members someone else deleted.
// A member created and deleted entirely inside a watch gap is missed: that undercounts creations,
// so the check can miss an over-creation there but never reports one that did not happen.
import type { KubernetesObject } from "@kubernetes/client-node";
import { LabelKeys } from "../../../src/api/labels.js";
import { Informer, type Kube } from "../../../src/runtime/index.js";

interface Seen {
  pool: string;
  adopted: boolean;
}

export class PoolLedger {
  readonly #informer: Informer<KubernetesObject>;
  readonly #seen = new Map<string, Seen>();
  readonly #poolByUID = new Map<string, string>();
  readonly #increments = new Map<string, number>();
  readonly #replicas = new Map<string, number>();
  readonly #externalDeletes = new Map<string, number>();
  readonly #claimPool = new Map<string, string>();

  constructor(kube: Kube, namespace: string) {
    this.#informer = new Informer<KubernetesObject>({
      kube,
      apiVersion: "agents.x-k8s.io/v1beta1",
      kind: "Sandbox",
      namespace,
      restartMaxMs: 2_000,
    });
    const see = (o: KubernetesObject): void => this.#observe(o);
    this.#informer.addHandler({ add: see, update: see });
  }

  async start(): Promise<void> {
    await this.#informer.start();
    await this.#informer.waitForSync();
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }

  /** The driver tells the ledger each pool uid (to attribute members) ... */
  notePool(name: string, uid: string): void {
    this.#poolByUID.set(uid, name);
  }

  /** ... which pool each claim draws from (to attribute adopted members) ... */
  noteClaim(claimUID: string, pool: string): void {
    this.#claimPool.set(claimUID, pool);
  }

  /** ... every spec.replicas it sets (the first call counts from 0) ... */
  noteReplicas(pool: string, replicas: number): void {
    const prev = this.#replicas.get(pool) ?? 0;
    if (replicas > prev) this.#increments.set(pool, (this.#increments.get(pool) ?? 0) + replicas - prev);
    this.#replicas.set(pool, replicas);
  }

  /** ... and every member it deleted by hand (the pool must replace those). */
  noteExternalDelete(pool: string): void {
    this.#externalDeletes.set(pool, (this.#externalDeletes.get(pool) ?? 0) + 1);
  }

  #observe(o: KubernetesObject): void {
    const uid = o.metadata?.uid;
    if (!uid || o.metadata?.labels?.[LabelKeys.LaunchType] !== "warm") return;
    const ref = o.metadata.ownerReferences?.find((r) => r.controller);
    const prev = this.#seen.get(uid);
    if (ref?.kind === "SandboxWarmPool") {
      if (!prev) this.#seen.set(uid, { pool: this.#poolByUID.get(ref.uid) ?? ref.name, adopted: false });
    } else if (ref?.kind === "SandboxClaim") {
      const pool = prev?.pool ?? this.#claimPool.get(ref.uid) ?? "?";
      this.#seen.set(uid, { pool, adopted: true });
    }
  }

  detail(pool: string): { created: number; adopted: number; replicaIncrements: number; externalDeletes: number } {
    let created = 0;
    let adopted = 0;
    for (const s of this.#seen.values()) {
      if (s.pool !== pool) continue;
      created++;
      if (s.adopted) adopted++;
    }
    return { created, adopted, replicaIncrements: this.#increments.get(pool) ?? 0, externalDeletes: this.#externalDeletes.get(pool) ?? 0 };
  }

  account(pool: string): { created: number; needed: number } {
    const d = this.detail(pool);
    return { created: d.created, needed: d.replicaIncrements + d.adopted + d.externalDeletes };
  }
}
