// The measurements of the `upstream` benchmark, each one run in a fresh namespace against
// whichever controller owns the cluster at the time (ours or upstream's): sequential claims with
// the pool refilling in flight, a claim burst larger than the pool (most claims start cold), a
// claim burst on a full pool, and a pool filling from zero. Every interval starts just before a
// create call and ends at the arrival of the watch event that shows the result (Watcher).
import type { KubernetesObject } from "@kubernetes/client-node";
import { getControllerOf, isNotFound, type Kube } from "../../src/runtime/index.js";
import {
  EXT_API,
  SANDBOX_API,
  Watcher,
  createNamespace,
  deleteNamespace,
  isReady,
  sandboxPodSpec,
  sleep,
  type Obj,
} from "./local-cluster.js";

export interface RunContext {
  kube: Kube;
  namespace: string;
  runtimeImage: string;
  /** Let our operator inject its execution sidecar (upstream never does). */
  execd: boolean;
  log(message: string): void;
}

export interface ClaimSample {
  claim: string;
  sandbox: string;
  /** The bound Sandbox had been a member of the pool (adopted) rather than created for the claim. */
  warm: boolean;
  toReadyMs: number;
}

export interface SequentialResult {
  claims: ClaimSample[];
  /** Ready unclaimed pool members at each claim's create call (the refill still running makes it < pool size). */
  readyMembersAtClaim: number[];
}

export interface BurstResult {
  claims: ClaimSample[];
  /** First claim create call -> the last claim's Ready event. */
  allReadyMs: number;
  fill: FillResult;
  /** Container names of a pool member's pod, so the JSON shows which pods the controller made. */
  podContainers: string[];
}

export interface FillResult {
  /** Pool create call -> each member's first Ready event, in order. */
  memberReadyMs: number[];
  /** Pool create call -> the last of `replicas` members Ready. */
  allReadyMs: number;
}

/** The pod-template annotation with which our operator leaves out its execd sidecar ("false"). */
const EXECD_ANNOTATION = "agents.x-k8s.io/execd";
const POOL = "pool";
const TEMPLATE = "bench";

/**
 * Watches Sandboxes and remembers every one ever seen as a member of the pool (controller owner
 * the SandboxWarmPool) and when each first turned Ready, so a claim's Sandbox can be told warm
 * or cold after adoption has moved it to the claim, for both controllers alike.
 */
class PoolTracker {
  readonly members = new Set<string>();
  readonly firstReadyAt = new Map<string, number>();
  readonly #sandboxes: Watcher;

  constructor(sandboxes: Watcher) {
    this.#sandboxes = sandboxes;
    const see = (o: Obj): void => {
      const owner = getControllerOf(o);
      const name = o.metadata?.name;
      if (!name || owner?.kind !== "SandboxWarmPool" || owner.name !== POOL) return;
      this.members.add(name);
      if (isReady(o) && !this.firstReadyAt.has(name)) this.firstReadyAt.set(name, performance.now());
    };
    sandboxes.informer.addHandler({ add: see, update: see });
  }

  /** Members now Ready, unclaimed and not being deleted. */
  readyNow(): number {
    return this.#sandboxes.list().filter((o) => {
      const owner = getControllerOf(o);
      return owner?.kind === "SandboxWarmPool" && owner.name === POOL && !o.metadata?.deletionTimestamp && isReady(o);
    }).length;
  }

  async waitReady(n: number, timeoutMs: number): Promise<void> {
    await this.#sandboxes.until(undefined, () => this.readyNow() >= n, timeoutMs, `${n} Ready members of pool ${POOL}`);
  }
}

interface Session {
  claims: Watcher;
  pool: PoolTracker;
}

/** A fresh namespace with the shared SandboxTemplate and watches; always deleted afterwards. */
async function inNamespace<T>(ctx: RunContext, body: (s: Session) => Promise<T>): Promise<T> {
  const { kube, namespace } = ctx;
  await createNamespace(kube, namespace);
  const claims = new Watcher(kube, EXT_API, "SandboxClaim", namespace);
  const sandboxes = new Watcher(kube, SANDBOX_API, "Sandbox", namespace);
  const pool = new PoolTracker(sandboxes);
  try {
    await Promise.all([claims.start(), sandboxes.start()]);
    await kube.create({
      apiVersion: EXT_API,
      kind: "SandboxTemplate",
      metadata: { name: TEMPLATE, namespace },
      spec: { podTemplate: templatePod(ctx) },
    } as KubernetesObject);
    return await body({ claims, pool });
  } finally {
    await Promise.all([claims.stop(), sandboxes.stop()]);
    const t = performance.now();
    // Waited for, so one run's gVisor teardown does not share the cores with the next run.
    await deleteNamespace(kube, namespace, 300_000).catch((err: unknown) =>
      ctx.log(`cleanup of ${namespace}: ${err instanceof Error ? err.message : String(err)}`),
    );
    ctx.log(`namespace ${namespace} deleted in ${Math.round(performance.now() - t)} ms`);
  }
}

/**
 * The one pod template both controllers get: the local scenarios' main container (10m CPU)
 * under gVisor, named explicitly because upstream has no default RuntimeClass. Unless execd is
 * wanted, the annotation tells our operator not to add its execution sidecar, so both
 * controllers run identical pods (upstream passes the annotation through and ignores it).
 */
function templatePod(ctx: RunContext): Record<string, unknown> {
  return {
    ...(ctx.execd ? {} : { metadata: { annotations: { [EXECD_ANNOTATION]: "false" } } }),
    spec: { ...sandboxPodSpec(ctx.runtimeImage), runtimeClassName: "gvisor" },
  };
}

async function createPool(kube: Kube, namespace: string, replicas: number): Promise<void> {
  await kube.create({
    apiVersion: EXT_API,
    kind: "SandboxWarmPool",
    metadata: { name: POOL, namespace },
    spec: { replicas, sandboxTemplateRef: { name: TEMPLATE } },
  } as KubernetesObject);
}

/** Creates one claim on the pool and resolves on its Ready event. */
async function claimOnce(ctx: RunContext, s: Session, name: string, timeoutMs: number): Promise<ClaimSample> {
  const t0 = performance.now();
  await ctx.kube.create({
    apiVersion: EXT_API,
    kind: "SandboxClaim",
    metadata: { name, namespace: ctx.namespace },
    spec: { warmPoolRef: { name: POOL } },
  } as KubernetesObject);
  const { obj, at } = await s.claims.until(name, isReady, timeoutMs, `claim ${name} Ready`);
  const sandbox = obj.status?.sandbox?.name ?? "";
  return { claim: name, sandbox, warm: s.pool.members.has(sandbox), toReadyMs: at - t0 };
}

const ignoreNotFound = (err: unknown): void => {
  if (!isNotFound(err)) throw err;
};

/**
 * (a) `claims` claims one at a time on a pool of `poolSize`, after `warmup` unrecorded ones; each
 * claim and its Sandbox are deleted `holdMs` after Ready and the next claim follows at once, so
 * the pool's refill is still running when it arrives.
 */
export async function sequentialClaims(
  ctx: RunContext,
  opts: { poolSize: number; claims: number; warmup: number; holdMs: number },
): Promise<SequentialResult> {
  return inNamespace(ctx, async (s) => {
    await createPool(ctx.kube, ctx.namespace, opts.poolSize);
    await s.pool.waitReady(opts.poolSize, 300_000);
    const result: SequentialResult = { claims: [], readyMembersAtClaim: [] };
    for (let i = 0; i < opts.warmup + opts.claims; i++) {
      const readyMembers = s.pool.readyNow();
      const sample = await claimOnce(ctx, s, `seq-${i}`, 120_000);
      if (i >= opts.warmup) {
        result.claims.push(sample);
        result.readyMembersAtClaim.push(readyMembers);
      }
      await sleep(opts.holdMs);
      const ns = ctx.namespace;
      await ctx.kube
        .delete({ apiVersion: EXT_API, kind: "SandboxClaim", namespace: ns, name: sample.claim }, { propagationPolicy: "Background" })
        .catch(ignoreNotFound);
      if (sample.sandbox)
        await ctx.kube
          .delete({ apiVersion: SANDBOX_API, kind: "Sandbox", namespace: ns, name: sample.sandbox }, { propagationPolicy: "Background" })
          .catch(ignoreNotFound);
    }
    return result;
  });
}

/**
 * (b)/(c)/(d) A pool of `poolSize` filled from zero (its fill is measured), `settleMs` with the
 * pool full, then `claims` claims created at once; the pool is scaled to 0 once all are Ready so
 * its refill stops adding pods before the namespace is deleted.
 */
export async function claimBurst(ctx: RunContext, opts: { poolSize: number; claims: number; settleMs: number }): Promise<BurstResult> {
  return inNamespace(ctx, async (s) => {
    const tPool = performance.now();
    await createPool(ctx.kube, ctx.namespace, opts.poolSize);
    await s.pool.waitReady(opts.poolSize, 600_000);
    const readyTimes = [...s.pool.firstReadyAt.values()].sort((a, b) => a - b).slice(0, opts.poolSize);
    const fill: FillResult = { memberReadyMs: readyTimes.map((t) => t - tPool), allReadyMs: (readyTimes.at(-1) ?? tPool) - tPool };
    ctx.log(`pool of ${opts.poolSize} Ready in ${Math.round(fill.allReadyMs)} ms; ${opts.claims} claims at once`);
    const pods = await ctx.kube.list<Obj & { spec?: { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> } }>(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: ctx.namespace },
    );
    const podContainers = [...(pods.items[0]?.spec?.containers ?? []), ...(pods.items[0]?.spec?.initContainers ?? [])]
      .map((c) => c.name)
      .sort();
    await sleep(opts.settleMs);
    const start = performance.now();
    const claims = await Promise.all(Array.from({ length: opts.claims }, (_, i) => claimOnce(ctx, s, `burst-${i}`, 600_000)));
    // Promise.all settles on the last claim's Ready event, so this is the burst's makespan.
    const allReadyMs = performance.now() - start;
    const ref = { apiVersion: EXT_API, kind: "SandboxWarmPool", namespace: ctx.namespace, name: POOL };
    await ctx.kube.patch(ref, { spec: { replicas: 0 } }, { type: "merge" }).catch(ignoreNotFound);
    return { claims, allReadyMs, fill, podContainers };
  });
}
