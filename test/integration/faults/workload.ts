// The load a fault run puts on the operator: a template, warm pools, bursts of claims, pool
// scaling, claim deletions, and a concurrent writer that bumps resourceVersions (so the
// operator's conditional writes meet 409 Conflict). Every call retries through API outages (a
// control plane being restarted), since the driver must outlive the faults it injects.
import { readFileSync } from "node:fs";
import type { KubernetesObject } from "@kubernetes/client-node";
import { isAlreadyExists, isNotFound, type Kube } from "../../../src/runtime/index.js";
import { FAKE_NODE_TOLERATION } from "../harness/cluster.js";
import type { PoolLedger } from "./pool-ledger.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
export const TEMPLATE = "faults-tpl";

/** Retries `fn` on any error but the ones `accept` turns into a value, for up to `timeoutMs`. */
export async function retrying<T>(
  what: string,
  fn: () => Promise<T>,
  accept: (err: unknown) => T | undefined = () => undefined,
  timeoutMs = 120_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const v = accept(err);
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${String(err)}`, { cause: err });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

/** The RuntimeClass admission plugin refuses pods naming a class that does not exist. */
export async function ensureRuntimeClass(kube: Kube, name = "gvisor"): Promise<void> {
  await retrying(
    `RuntimeClass ${name}`,
    () =>
      kube
        .create({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name }, handler: "runsc" } as KubernetesObject)
        .then(() => true),
    (e) => (isAlreadyExists(e) ? true : undefined),
  );
}

export class Workload {
  readonly #kube: Kube;
  readonly ns: string;
  readonly #ledger: PoolLedger | undefined;
  /** Writes this driver made, by kind (for the report). */
  readonly ops = { claimsCreated: 0, claimsDeleted: 0, scales: 0, membersDeleted: 0, bumps: 0 };

  constructor(kube: Kube, ns: string, ledger?: PoolLedger) {
    this.#kube = kube;
    this.ns = ns;
    this.#ledger = ledger;
  }

  async setup(pools: Record<string, number>): Promise<void> {
    await ensureRuntimeClass(this.#kube);
    await this.#create({
      apiVersion: EXT,
      kind: "SandboxTemplate",
      metadata: { name: TEMPLATE, namespace: this.ns },
      spec: {
        podTemplate: {
          metadata: { labels: { app: "faults" } },
          spec: {
            tolerations: [{ ...FAKE_NODE_TOLERATION }],
            containers: [{ name: "main", image: "agent-sandbox/runtime:test", command: ["sleep", "infinity"] }],
          },
        },
      },
    } as KubernetesObject);
    for (const [name, replicas] of Object.entries(pools)) {
      const pool = await this.#create({
        apiVersion: EXT,
        kind: "SandboxWarmPool",
        metadata: { name, namespace: this.ns },
        spec: { replicas, sandboxTemplateRef: { name: TEMPLATE } },
      } as KubernetesObject);
      this.#ledger?.notePool(name, pool.metadata?.uid ?? "");
      this.#ledger?.noteReplicas(name, replicas);
    }
  }

  async createClaims(names: string[], pool: string, concurrency = 8): Promise<void> {
    const queue = [...names];
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const claim = await this.#create({
          apiVersion: EXT,
          kind: "SandboxClaim",
          metadata: { name, namespace: this.ns },
          spec: { warmPoolRef: { name: pool } },
        } as KubernetesObject);
        this.#ledger?.noteClaim(claim.metadata?.uid ?? "", pool);
        this.ops.claimsCreated++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  async deleteClaim(name: string): Promise<void> {
    await retrying(
      `delete claim ${name}`,
      () => this.#kube.delete({ apiVersion: EXT, kind: "SandboxClaim", namespace: this.ns, name }).then(() => true),
      (e) => (isNotFound(e) ? true : undefined),
    );
    this.ops.claimsDeleted++;
  }

  /** Through the scale subresource, as an HPA would. */
  async scale(pool: string, replicas: number): Promise<void> {
    // Noted first: the pool may act on it before the call returns.
    this.#ledger?.noteReplicas(pool, replicas);
    await retrying(`scale ${pool}`, () =>
      this.#kube.patch(
        { apiVersion: EXT, kind: "SandboxWarmPool", namespace: this.ns, name: pool },
        { spec: { replicas } },
        { type: "merge", subresource: "scale" },
      ),
    );
    this.ops.scales++;
  }

  /** Deletes one current member of the pool by hand (the pool must replace it). */
  async deleteMember(pool: string, pick: () => number): Promise<string | undefined> {
    const members = (
      await retrying("list sandboxes", () =>
        this.#kube.list<KubernetesObject>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox" }, { namespace: this.ns }),
      )
    ).items.filter(
      (s) =>
        !s.metadata?.deletionTimestamp &&
        s.metadata?.ownerReferences?.some((r) => r.kind === "SandboxWarmPool" && r.name === pool && r.controller),
    );
    const victim = members[Math.floor(pick() * members.length)];
    if (!victim?.metadata?.name) return undefined;
    try {
      await this.#kube.delete(
        { apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: this.ns, name: victim.metadata.name },
        { preconditions: { uid: victim.metadata.uid } },
      );
    } catch (err) {
      if (isNotFound(err)) return undefined; // a claim adopted and someone deleted it meanwhile
      // A 409 on the uid/rv precondition: it was adopted away meanwhile; not ours to count.
      if (err instanceof Error && /409/.test(err.message)) return undefined;
      throw err;
    }
    this.#ledger?.noteExternalDelete(pool);
    this.ops.membersDeleted++;
    return victim.metadata.name;
  }

  /**
   * Until `signal` aborts: every ~`everyMs`, bumps the resourceVersion of a random claim and
   * sandbox (an annotation, written without a precondition) so the operator's writes that carry
   * the resourceVersion they read answer 409 and must be retried.
   */
  async conflictWriter(signal: AbortSignal, pick: () => number, everyMs = 60): Promise<void> {
    while (!signal.aborted) {
      for (const kind of ["SandboxClaim", "Sandbox"] as const) {
        const apiVersion = kind === "Sandbox" ? "agents.x-k8s.io/v1beta1" : EXT;
        try {
          const items = (await this.#kube.list<KubernetesObject>({ apiVersion, kind }, { namespace: this.ns })).items.filter(
            (o) => !o.metadata?.deletionTimestamp,
          );
          const o = items[Math.floor(pick() * items.length)];
          if (!o?.metadata?.name) continue;
          await this.#kube.patch(
            { apiVersion, kind, namespace: this.ns, name: o.metadata.name },
            { metadata: { annotations: { "faults.agent-sandbox-ts/bump": String(this.ops.bumps) } } },
            { type: "merge" },
          );
          this.ops.bumps++;
        } catch {
          // Gone meanwhile, or the API server is down for a fault: keep writing.
        }
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  async #create(obj: KubernetesObject): Promise<KubernetesObject> {
    const ref = { apiVersion: obj.apiVersion ?? "", kind: obj.kind ?? "", namespace: this.ns, name: obj.metadata?.name ?? "" };
    // A create whose answer was lost in an outage may have landed: AlreadyExists then means done.
    await retrying(
      `create ${obj.kind} ${ref.name}`,
      () => this.#kube.create(obj).then(() => true),
      (e) => (isAlreadyExists(e) ? true : undefined),
    );
    return retrying(`get ${obj.kind} ${ref.name}`, () => this.#kube.get<KubernetesObject>(ref));
  }
}

/** What the operator logs say it went through (pino JSON lines). */
export interface LogFindings {
  /** Reconciles that failed on 409 Conflict (and were requeued) or lost an adoption race. */
  conflictsRetried: number;
  /** Informer list/watch failures that were restarted (API server or etcd down). */
  watchRestarts: number;
  reconcileErrors: number;
  leaseLost: number;
}

export function scanLogs(files: string[]): LogFindings {
  const out: LogFindings = { conflictsRetried: 0, watchRestarts: 0, reconcileErrors: 0, leaseLost: 0 };
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (line.includes("Lost the race for a warm Sandbox") || (line.includes("Reconciler failed") && line.includes("409")))
        out.conflictsRetried++;
      if (line.includes("List/watch failed; restarting")) out.watchRestarts++;
      if (line.includes("Reconciler failed")) out.reconcileErrors++;
      if (line.includes("Lost the leader lease")) out.leaseLost++;
    }
  }
  return out;
}
