// What the local-cluster scenarios share: finding the cluster (and failing clearly when it is
// down), a namespace of their own, an agent identity the router accepts, the router's address,
// watch-driven waits with the time each event arrived, and the SDK's first `1+1` with retries
// while the router's caches catch up. The approach is scripts/demo.ts's.
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { SandboxNotFoundError, SandboxNotReadyError, type Sandbox } from "../../src/client/index.js";
import type { Summary } from "./stats.js";
import { Informer, Kube, createLogger, getControllerOf, isAlreadyExists, isNotFound, type Condition } from "../../src/runtime/index.js";
import { mainPodSpec } from "../../test/e2e/operator/helpers.js";

const repo = path.resolve(import.meta.dirname, "../..");
const clusterScript = path.join(repo, "scripts/cluster.sh");

export const SANDBOX_API = "agents.x-k8s.io/v1beta1";
export const EXT_API = "extensions.agents.x-k8s.io/v1beta1";
export const OPERATOR_NS = "agent-sandbox-system";

export type Obj = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    readyReplicas?: number;
    replicas?: number;
    podIP?: string;
    podIPs?: Array<string | { ip?: string }>;
    phase?: string;
    sandbox?: { name?: string };
  };
};

export const isReady = (o: Obj | undefined): boolean =>
  o?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LocalCluster {
  kc: KubeConfig;
  kube: Kube;
  /** The admin kubeconfig's path, for processes the benchmark starts against the cluster. */
  kubeconfig: string;
  /** The runtime image the cluster imported (scripts/cluster.sh env RUNTIME_IMAGE). */
  runtimeImage: string;
  /** http://<router pod IP>:8080 (the host is the node, so pod IPs are reachable). */
  routerUrl: string;
}

const notUp = "the local cluster is not up: run `npm run cluster -- up` first (see scripts/lib/cluster/README.md)";

/** Connects to the local cluster, or throws telling the user how to bring it up. */
export async function connectLocalCluster(): Promise<LocalCluster> {
  const status = spawnSync("bash", [clusterScript, "status"], { encoding: "utf8" });
  if (status.status !== 0) throw new Error(`${notUp}\n\`npm run cluster -- status\` said:\n${status.stdout}${status.stderr}`);
  const out = execFileSync("bash", [clusterScript, "env"], { encoding: "utf8" });
  const env = new Map(
    out
      .trim()
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
  const kubeconfig = env.get("KUBECONFIG");
  if (!kubeconfig) throw new Error(`scripts/cluster.sh env printed no KUBECONFIG; ${notUp}`);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const kube = new Kube(kc, { fieldManager: "agent-sandbox-bench" });
  const routers = await kube.list<Obj>({ apiVersion: "v1", kind: "Pod" }, { namespace: OPERATOR_NS, labelSelector: "app=sandbox-router" });
  // One router for every call of a run, so its caches and connection pool are the same throughout.
  const router = routers.items
    .filter((p) => isReady(p) && p.status?.podIP)
    .sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)))[0];
  if (!router?.status?.podIP) throw new Error(`no Ready router pod in ${OPERATOR_NS} (the operator's Helm release is missing?); ${notUp}`);
  return {
    kc,
    kube,
    kubeconfig,
    runtimeImage: env.get("RUNTIME_IMAGE") ?? "agent-sandbox/runtime:0.1.0",
    routerUrl: `http://${router.status.podIP}:8080`,
  };
}

/**
 * Polls a cheap GET until `check` holds. Only for set-up and tear-down (namespace lifecycle),
 * never for a measured interval: those are watch-driven (Watcher below).
 */
async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(200);
  }
}

const namespaceRef = (name: string) => ({ apiVersion: "v1", kind: "Namespace", name });

/** Deletes the namespace (and with it every sandbox in it) and waits, bounded, until it is gone. */
export async function deleteNamespace(kube: Kube, name: string, timeoutMs = 120_000): Promise<void> {
  try {
    await kube.delete(namespaceRef(name), { propagationPolicy: "Background" });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await pollUntil(async () => (await kube.getOrUndefined(namespaceRef(name))) === undefined, timeoutMs, `namespace ${name} to be deleted`);
}

/**
 * A fresh namespace: one left over by an interrupted run is deleted first. Waits for its
 * "default" ServiceAccount, without which the API server rejects pods.
 */
export async function createNamespace(kube: Kube, name: string): Promise<void> {
  if (await kube.getOrUndefined(namespaceRef(name))) await deleteNamespace(kube, name);
  await kube.create({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "app.kubernetes.io/part-of": "agent-sandbox-bench" } },
  } as KubernetesObject);
  const sa = { apiVersion: "v1", kind: "ServiceAccount", namespace: name, name: "default" };
  await pollUntil(async () => (await kube.getOrUndefined(sa)) !== undefined, 30_000, `serviceaccount default in ${name}`);
}

/**
 * A ServiceAccount that may call the execution API of sandboxes in `ns` (create on
 * sandboxes/exec, like the demo's agent) and a one-hour token for it.
 */
export async function agentToken(kube: Kube, ns: string, name = "bench-agent"): Promise<string> {
  const objects: KubernetesObject[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: `${name}-exec`, namespace: ns },
      rules: [{ apiGroups: ["agents.x-k8s.io"], resources: ["sandboxes/exec"], verbs: ["create"] }],
    } as KubernetesObject,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `${name}-exec`, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${name}-exec` },
      subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
    } as KubernetesObject,
  ];
  for (const o of objects) {
    try {
      await kube.create(o);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  const res = await kube.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  return res.status.token;
}

/**
 * The sandbox pod spec every local scenario uses: the e2e tests' main container (10m/32Mi; the
 * injected execd sidecar adds the operator's default 100m/256Mi, so a sandbox reserves 110m of
 * the node's 2 CPUs; a 1 s grace period because `sleep` as PID 1 ignores SIGTERM).
 */
export const sandboxPodSpec = mainPodSpec;

/** A CPU quantity as Kubernetes writes it ("2", "1.5", "250m", "100000u") in millicores. */
export function cpuMillis(quantity: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(m|u|n)?$/.exec((quantity ?? "0").trim());
  if (!m) throw new Error(`"${quantity}" is not a CPU quantity (expected e.g. "2", "500m")`);
  const value = Number(m[1]);
  return m[2] === "m" ? value : m[2] === "u" ? value / 1000 : m[2] === "n" ? value / 1e6 : value * 1000;
}

/** A memory quantity as Kubernetes writes it ("256Mi", "1Gi", "512M", "1048576") in MiB. */
export function memoryMiB(quantity: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec((quantity ?? "0").trim());
  if (!m) throw new Error(`"${quantity}" is not a memory quantity (expected e.g. "256Mi", "1Gi")`);
  const bytesPer: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return (Number(m[1]) * (m[2] ? (bytesPer[m[2]] ?? 1) : 1)) / 2 ** 20;
}

/** CPU the node can still give to new pods' requests, in millicores (for sizing bursts). */
export async function freeCpuMillis(kube: Kube): Promise<{ allocatable: number; requested: number; free: number }> {
  const nodes = await kube.list<Obj & { status?: { allocatable?: Record<string, string> } }>({ apiVersion: "v1", kind: "Node" });
  const allocatable = nodes.items.reduce((sum, n) => sum + cpuMillis(n.status?.allocatable?.["cpu"]), 0);
  type Container = { restartPolicy?: string; resources?: { requests?: Record<string, string> } };
  const pods = await kube.list<Obj & { spec?: { containers?: Container[]; initContainers?: Container[] } }>(
    { apiVersion: "v1", kind: "Pod" },
    { fieldSelector: "status.phase!=Succeeded,status.phase!=Failed" },
  );
  // Sidecars (restartable init containers) run beside the app containers and hold their requests.
  const running = (p: (typeof pods.items)[number]): Container[] => [
    ...(p.spec?.containers ?? []),
    ...(p.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always"),
  ];
  const requested = pods.items.reduce((sum, p) => sum + running(p).reduce((s, c) => s + cpuMillis(c.resources?.requests?.["cpu"]), 0), 0);
  return { allocatable, requested, free: allocatable - requested };
}

/**
 * An informer over one kind in one namespace, with waits that resolve on the watch event that
 * makes a predicate true and report when that event arrived (performance.now()).
 */
export class Watcher {
  readonly informer: Informer<Obj>;
  readonly #waiters = new Set<{
    name: string | undefined;
    onDelete: boolean;
    pred: (o: Obj) => boolean;
    done: (o: Obj, at: number) => void;
  }>();

  constructor(kube: Kube, apiVersion: string, kind: string, namespace: string) {
    this.informer = new Informer<Obj>({ kube, apiVersion, kind, namespace, logger: createLogger({ level: "warn" }) });
    const check =
      (onDelete: boolean) =>
      (o: Obj): void => {
        const at = performance.now();
        for (const w of [...this.#waiters]) {
          if (w.onDelete === onDelete && (w.name === undefined || w.name === o.metadata?.name) && w.pred(o)) w.done(o, at);
        }
      };
    this.informer.addHandler({ add: check(false), update: check(false), delete: check(true) });
  }

  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.waitForSync({ timeoutMs: 30_000 });
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  get(ns: string, name: string): Obj | undefined {
    return this.informer.get(ns, name);
  }

  list(): Obj[] {
    return this.informer.list();
  }

  #wait(
    name: string | undefined,
    onDelete: boolean,
    pred: (o: Obj) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<{ obj: Obj; at: number }> {
    return new Promise((resolve, reject) => {
      const waiter = {
        name,
        onDelete,
        pred,
        done: (obj: Obj, at: number) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve({ obj, at });
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /**
   * Resolves with the object and the arrival time of the watch event after which `pred` held for
   * the object `name` (any object when name is undefined); at once if the cache already satisfies it.
   */
  until(name: string | undefined, pred: (o: Obj) => boolean, timeoutMs: number, what: string): Promise<{ obj: Obj; at: number }> {
    const cached = this.informer.list().find((o) => (name === undefined || o.metadata?.name === name) && pred(o));
    if (cached) return Promise.resolve({ obj: cached, at: performance.now() });
    return this.#wait(name, false, pred, timeoutMs, what);
  }

  /** Resolves when the object is gone (its delete event, or at once if it is not cached). */
  async gone(ns: string, name: string, timeoutMs: number, what: string): Promise<void> {
    // Synchronous check-then-register: no event can slip in between.
    if (!this.informer.get(ns, name)) return;
    await this.#wait(name, true, () => true, timeoutMs, what);
  }
}

/** Whether a Sandbox is a Ready, not yet claimed member of the named pool (what adoption picks). */
export function isReadyPoolMember(pool: string): (o: Obj) => boolean {
  return (o) => {
    const owner = getControllerOf(o);
    return (
      owner?.kind === "SandboxWarmPool" &&
      owner.name === pool &&
      !o.metadata?.deletionTimestamp &&
      isReady(o) &&
      (o.status?.podIPs?.length ?? 0) > 0
    );
  };
}

/**
 * Runs `1+1` through the SDK until it answers 2, retrying at once while the router (or the
 * direct path) does not know the sandbox as Ready yet (404/503). Returns the retries it took.
 */
export async function firstOnePlusOne(sb: Sandbox, timeoutMs: number): Promise<{ retries: number }> {
  const deadline = performance.now() + timeoutMs;
  for (let retries = 0; ; retries++) {
    try {
      const r = await sb.run("1+1");
      const answer = r.results.find((x) => x.mimeType === "text/plain")?.data;
      if (answer !== "2") throw new Error(`1+1 in ${sb.namespace}/${sb.id} answered ${JSON.stringify(answer)}`);
      return { retries };
    } catch (err) {
      if (!(err instanceof SandboxNotReadyError || err instanceof SandboxNotFoundError) || performance.now() > deadline) throw err;
      await sleep(2);
    }
  }
}

/** A time budget for a whole scenario: `check()` throws once it is spent, naming the stage. */
export function budget(seconds: number): { check(stage: string): void; elapsedSeconds(): number; remainingMs(): number } {
  const started = performance.now();
  const end = started + seconds * 1000;
  return {
    check(stage) {
      if (performance.now() > end)
        throw new Error(`time budget of ${seconds} s spent during ${stage} (raise it with BENCH_LOCAL_BUDGET_S)`);
    },
    elapsedSeconds: () => Math.round((performance.now() - started) / 100) / 10,
    remainingMs: () => Math.max(0, end - performance.now()),
  };
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
export { round1 };

/** A fixed-width table for the console. */
export function printTable(log: (m: string) => void, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  log(line(header));
  log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) log(line(r));
}

/** A latency row for printTable: label, n, p50, p90, p99, max (ms, one decimal). */
export function latencyRow(label: string, s: Summary, target = ""): Array<string | number> {
  return [label, s.count, round1(s.p50), round1(s.p90), round1(s.p99), round1(s.max), target];
}
export const LATENCY_HEADER = ["", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "target"];
