// The kwok tier for benchmarks: the integration harness's real control plane (etcd,
// kube-apiserver, KCM, scheduler, kwok), enough kwok fake nodes for the pods asked for, the
// compiled operator as its own process (so its RSS and CPU are its own), and watch-driven
// caches the scenarios wait on. Pods here are kwok's: Ready comes without any kubelet work, so
// these figures are the operator's and the control plane's share of a claim or a start.
import { execFileSync } from "node:child_process";
import os from "node:os";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Informer, Kube, createLogger, isAlreadyExists, type Condition } from "../../src/runtime/index.js";
import {
  FAKE_NODE_ANNOTATION,
  createFakeNodeObject,
  kubeFor,
  startControlPlane,
  type ControlPlane,
} from "../../test/integration/harness/control-plane.js";
import { freePort } from "../../test/integration/harness/processes.js";
import { startOperatorProcess, type OperatorProcess } from "./operator-process.js";

export const SANDBOX_API = "agents.x-k8s.io/v1beta1";
export const EXT_API = "extensions.agents.x-k8s.io/v1beta1";

export type Obj = KubernetesObject & {
  status?: {
    conditions?: Condition[];
    readyReplicas?: number;
    replicas?: number;
    sandbox?: { name?: string };
  };
};

export const isReady = (o: Obj | undefined): boolean =>
  o?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Lets pods onto the kwok fake nodes (which are tainted so nothing else lands there). */
export const FAKE_NODE_TOLERATION = { key: FAKE_NODE_ANNOTATION, operator: "Equal", value: "fake", effect: "NoSchedule" } as const;

/** Each fake node takes 1000 pods, 64 CPUs and 256 GiB; a sandbox pod requests 200m and 512Mi. */
const PODS_PER_NODE = 250;

export const podTemplate = {
  spec: { tolerations: [{ ...FAKE_NODE_TOLERATION }], containers: [{ name: "main", image: "agent-sandbox/runtime:bench" }] },
};

export function templateAndPool(ns: string, replicas: number): KubernetesObject[] {
  return [
    {
      apiVersion: EXT_API,
      kind: "SandboxTemplate",
      metadata: { name: "python", namespace: ns },
      spec: { podTemplate },
    } as KubernetesObject,
    {
      apiVersion: EXT_API,
      kind: "SandboxWarmPool",
      metadata: { name: "pool", namespace: ns },
      spec: { replicas, sandboxTemplateRef: { name: "python" } },
    } as KubernetesObject,
  ];
}

export const claimManifest = (ns: string, name: string): KubernetesObject =>
  ({
    apiVersion: EXT_API,
    kind: "SandboxClaim",
    metadata: { name, namespace: ns },
    spec: { warmPoolRef: { name: "pool" } },
  }) as KubernetesObject;

/**
 * An informer with one event handler that serves many waiters (a handler per waiter would make
 * every event cost O(waiters) on the benchmark's side of the shared CPUs), and that remembers
 * every UID it has seen per namespace, so objects created and deleted between two looks
 * still count as created.
 */
export class Watched {
  readonly informer: Informer<Obj>;
  readonly #waiters = new Map<string, Array<{ pred: (o: Obj | undefined) => boolean; done: (at: number) => void }>>();
  readonly #seen = new Map<string, Set<string>>();

  constructor(kube: Kube, apiVersion: string, kind: string) {
    this.informer = new Informer<Obj>({ kube, apiVersion, kind, logger: createLogger({ level: "warn" }) });
    const onEvent = (o: Obj): void => {
      const ns = o.metadata?.namespace ?? "";
      if (o.metadata?.uid) {
        let uids = this.#seen.get(ns);
        if (!uids) this.#seen.set(ns, (uids = new Set()));
        uids.add(o.metadata.uid);
      }
      const key = `${ns}/${o.metadata?.name ?? ""}`;
      const waiting = this.#waiters.get(key);
      if (!waiting) return;
      const now = performance.now();
      const still = waiting.filter((w) => {
        if (!w.pred(o)) return true;
        w.done(now);
        return false;
      });
      if (still.length) this.#waiters.set(key, still);
      else this.#waiters.delete(key);
    };
    this.informer.addHandler({ add: onEvent, update: onEvent });
  }

  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.waitForSync();
  }

  /** Resolves with performance.now() at the event that made `pred` true (at once if it already is). */
  when(ns: string, name: string, pred: (o: Obj | undefined) => boolean, timeoutMs: number): Promise<number> {
    if (pred(this.informer.get(ns, name))) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const key = `${ns}/${name}`;
      const timer = setTimeout(
        () => reject(new Error(`${this.informer.kind} ${key}: condition not met within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list = this.#waiters.get(key) ?? [];
      list.push({
        pred,
        done: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
      this.#waiters.set(key, list);
    });
  }

  /** Distinct objects (by UID) ever seen in the namespace since start. */
  seen(ns: string): number {
    return this.#seen.get(ns)?.size ?? 0;
  }

  list(ns: string): Obj[] {
    return this.informer.list(ns);
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}

/**
 * apiserver_request_total by "VERB resource[/subresource]" (plus " (code)" when not 2xx), leaving
 * out watches, leases and non-resource paths.
 */
export async function apiRequestCounts(kube: Kube): Promise<Map<string, number>> {
  const text = String(await kube.request<string>("GET", "/metrics"));
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const label = (k: string): string => new RegExp(`[{,]${k}="([^"]*)"`).exec(line)?.[1] ?? "";
    const verb = label("verb");
    const resource = label("resource");
    // Leases are the kwok nodes' and components' heartbeats, not claim work; WATCH is a stream.
    if (!resource || verb === "WATCH" || label("group") === "coordination.k8s.io") continue;
    const sub = label("subresource");
    // Failed requests (a 409 on a stale read, say) are waste worth seeing apart.
    const code = label("code");
    const key = `${verb} ${resource}${sub ? `/${sub}` : ""}${code.startsWith("2") ? "" : ` (${code})`}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return counts;
}

/** Requests between two apiRequestCounts() snapshots: total and per verb/resource, largest first. */
export function requestDelta(
  before: Map<string, number>,
  after: Map<string, number>,
  per: number,
): { total: number; perUnit: number; byVerbResource: Record<string, number> } {
  const delta: Array<[string, number]> = [];
  for (const [key, value] of after) {
    const d = value - (before.get(key) ?? 0);
    if (d > 0) delta.push([key, d]);
  }
  delta.sort((a, b) => b[1] - a[1]);
  const total = delta.reduce((sum, [, d]) => sum + d, 0);
  return { total, perUnit: Math.round((total / per) * 100) / 100, byVerbResource: Object.fromEntries(delta) };
}

/** Samples `read()` every `everyMs` from now on, for over-time charts. */
export function sampler<T>(read: () => T, everyMs = 250): { samples: Array<{ t: number; value: T }>; stop(): void } {
  const t0 = performance.now();
  const samples: Array<{ t: number; value: T }> = [{ t: 0, value: read() }];
  const timer = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, value: read() }), everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      samples.push({ t: (performance.now() - t0) / 1000, value: read() });
    },
  };
}

/**
 * Polls `pred` every `everyMs` until it holds; resolves with performance.now() then. For
 * conditions over many objects, where no single watch event says "now" (a pool's status can
 * still show the old count just after members left it).
 */
export async function until(what: string, pred: () => boolean, timeoutMs: number, everyMs = 100): Promise<number> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (pred()) return performance.now();
    if (performance.now() > end) throw new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const WARM_POOL_LABEL = "agents.x-k8s.io/warm-pool-sandbox";

/** Unclaimed, Ready, not-deleting members of the namespace's pool, as the watch cache shows them. */
export const readyPoolMembers = (sandboxes: Watched, ns: string): Obj[] =>
  sandboxes.list(ns).filter((s) => s.metadata?.labels?.[WARM_POOL_LABEL] !== undefined && !s.metadata.deletionTimestamp && isReady(s));

/** The pool is at spec: its status and the cache both show `replicas` Ready members. */
export function poolAtSpec(env: { sandboxes: Watched; pools: Watched }, ns: string, replicas: number): () => boolean {
  return () =>
    env.pools.informer.get(ns, "pool")?.status?.readyReplicas === replicas && readyPoolMembers(env.sandboxes, ns).length === replicas;
}

/** Sum of a Prometheus counter's samples whose labels include every `match` pair. */
export function counterSum(metrics: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(match).some(([k, v]) => !line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Operator flags added for A/B runs of one setting: BENCH_OPERATOR_ARGS, e.g. "--claim-workers=16". */
export function addedOperatorFlags(): string[] {
  return (process.env["BENCH_OPERATOR_ARGS"] ?? "").split(/\s+/).filter(Boolean);
}

/**
 * Which operator code was measured: the commit, and src/ files that differed from it when
 * dist/ was built (others may be changing src/ while benchmarks run).
 */
export function operatorBuild(): { commit: string; srcChangesUncommitted: string[]; addedFlags: string } {
  const addedFlags = addedOperatorFlags().join(" ");
  const git = (...args: string[]): string => execFileSync("git", args, { encoding: "utf8", cwd: import.meta.dirname });
  try {
    return {
      commit: git("rev-parse", "--short", "HEAD").trim(),
      srcChangesUncommitted: git("status", "--porcelain", "--", "../../src").split("\n").filter(Boolean),
      addedFlags,
    };
  } catch {
    return { commit: "unknown", srcChangesUncommitted: [], addedFlags };
  }
}

export const loadAverage = (): number[] => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export interface KwokEnv {
  cp: ControlPlane;
  kube: Kube;
  operator: OperatorProcess;
  claims: Watched;
  sandboxes: Watched;
  pods: Watched;
  pools: Watched;
  /** The operator's own /metrics (Prometheus text). */
  operatorMetrics(): Promise<string>;
  createNamespace(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts everything; `pods` is how many sandbox pods the scenario will run at most. */
export async function startKwokEnv(log: (m: string) => void, pods: number): Promise<KwokEnv> {
  const cp = await startControlPlane({ log });
  const stops: Array<() => Promise<void>> = [() => cp.stop()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => log(`stop: ${String(err)}`));
  };
  try {
    const kube = kubeFor(cp.info.kubeconfig);
    await kube.create({
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "gvisor" },
      handler: "runsc",
    } as KubernetesObject);
    const nodes = Math.ceil(pods / PODS_PER_NODE);
    for (let i = 1; i <= nodes; i++) await createFakeNodeObject(kube, `kwok-node-${i}`, true);
    // New nodes carry the not-ready taint until kwok reports them Ready and KCM lifts it; wait, so
    // that scheduling delays do not count as the operator's.
    const nodesStart = performance.now();
    for (;;) {
      const list = await kube.list<KubernetesObject & { spec?: { taints?: Array<{ key: string }> } }>({ apiVersion: "v1", kind: "Node" });
      if (list.items.every((n) => !(n.spec?.taints ?? []).some((t) => t.key === "node.kubernetes.io/not-ready"))) break;
      if (performance.now() - nodesStart > 120_000) throw new Error("kwok nodes still tainted not-ready after 120 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`${nodes + 1} kwok nodes for up to ${pods} pods`);
    const healthPort = await freePort();
    const extraArgs = addedOperatorFlags();
    if (extraArgs.length > 0) log(`operator flags added: ${extraArgs.join(" ")}`);
    const operator = await startOperatorProcess(cp.info.kubeconfig, [`--health-address=127.0.0.1:${healthPort}`, ...extraArgs]);
    stops.push(() => operator.stop());
    const operatorUrl = `http://127.0.0.1:${healthPort}`;
    // Start measuring once the operator's caches are synced, not while Node is still loading it.
    const readyz = async (): Promise<boolean> => (await fetch(`${operatorUrl}/readyz`).catch(() => undefined))?.ok ?? false;
    const operatorStart = performance.now();
    while (!(await readyz())) {
      if (performance.now() - operatorStart > 120_000) throw new Error("operator /readyz not ok within 120 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`operator ready in ${Math.round(performance.now() - operatorStart)} ms`);
    const watched = {
      claims: new Watched(kube, EXT_API, "SandboxClaim"),
      sandboxes: new Watched(kube, SANDBOX_API, "Sandbox"),
      pods: new Watched(kube, "v1", "Pod"),
      pools: new Watched(kube, EXT_API, "SandboxWarmPool"),
    };
    for (const w of Object.values(watched)) stops.push(() => w.stop());
    await Promise.all(Object.values(watched).map((w) => w.start()));
    return {
      cp,
      kube,
      operator,
      ...watched,
      async operatorMetrics() {
        const res = await fetch(`${operatorUrl}/metrics`);
        if (!res.ok) throw new Error(`operator /metrics answered ${res.status}`);
        return res.text();
      },
      async createNamespace(name) {
        try {
          await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } } as KubernetesObject);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
