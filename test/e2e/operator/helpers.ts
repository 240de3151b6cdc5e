// Helpers for the operator-level e2e tests: objects the installed operator reconciles, the
// router in agent-sandbox-system, and tokens for the agent identity that calls it.
import { readFileSync, readdirSync } from "node:fs";
import { stringify } from "yaml";
import { apply, kubectl, kubectlOk, waitFor, type ClusterEnv } from "../harness/cluster.js";

export const SANDBOX_API = "agents.x-k8s.io/v1beta1";
export const EXT_API = "extensions.agents.x-k8s.io/v1beta1";
export const OPERATOR_NS = "agent-sandbox-system";

/**
 * The main container every test sandbox runs. Requests are tiny on purpose: the node has
 * 2 CPUs and the injected execd sidecar already asks for 100m per pod; a 1 s grace period
 * because `sleep` as PID 1 ignores SIGTERM and would hold deletion for 30 s.
 */
export function mainPodSpec(image: string): Record<string, unknown> {
  return {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: "main",
        image,
        imagePullPolicy: "Never",
        command: ["sleep", "infinity"],
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      },
    ],
  };
}

/** A Sandbox manifest as YAML, the way a user would write it for kubectl apply. */
export function sandboxManifest(opts: {
  name: string;
  namespace: string;
  image: string;
  service?: boolean;
  extraSpec?: Record<string, unknown>;
}): string {
  return stringify({
    apiVersion: SANDBOX_API,
    kind: "Sandbox",
    metadata: { name: opts.name, namespace: opts.namespace },
    spec: { ...(opts.service ? { service: true } : {}), podTemplate: { spec: mainPodSpec(opts.image) }, ...(opts.extraSpec ?? {}) },
  });
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface KObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    phase?: string;
    podIP?: string;
    readyReplicas?: number;
    replicas?: number;
    serviceFQDN?: string;
    sandbox?: { name?: string };
  };
}

export async function getJson<T = KObject>(env: ClusterEnv, ns: string, kind: string, name: string): Promise<T | undefined> {
  const r = await kubectl(env, ["-n", ns, "get", kind, name, "-o", "json"]);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${kind} ${ns}/${name} failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

export async function list(env: ClusterEnv, ns: string, kind: string, selector?: string): Promise<KObject[]> {
  const out = await kubectlOk(env, ["-n", ns, "get", kind, "-o", "json", ...(selector ? ["-l", selector] : [])]);
  return (JSON.parse(out) as { items: KObject[] }).items;
}

export const isReady = (o: KObject | undefined): boolean =>
  o?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export async function waitReady(env: ClusterEnv, ns: string, kind: string, name: string, timeoutMs = 120_000): Promise<KObject> {
  let last: KObject | undefined;
  try {
    await waitFor(async () => isReady((last = await getJson(env, ns, kind, name))), timeoutMs, `${kind} ${ns}/${name} Ready`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}${await unreadyPods(env, ns)}`, { cause: err });
  }
  if (!last) throw new Error(`${kind} ${ns}/${name} vanished`);
  return last;
}

/**
 * The namespace's pods that are not Ready, each with its unmet conditions' messages (e.g. the
 * scheduler's "Insufficient cpu"), so a timeout says why a sandbox never came up.
 */
async function unreadyPods(env: ClusterEnv, ns: string): Promise<string> {
  const pods = await list(env, ns, "pod").catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
  if (typeof pods === "string") return `; pods: ${pods}`;
  const lines = pods
    .filter((p) => !isReady(p))
    .map((p) => {
      const unmet = (p.status?.conditions ?? [])
        .filter((c) => c.status !== "True")
        .map((c) => `${c.type}: ${c.reason ?? ""} ${c.message ?? ""}`.trim());
      return `${p.metadata.name} (${unmet.join("; ") || "no conditions yet"})`;
    });
  return lines.length ? `; pods not Ready: ${lines.join(", ")}` : "";
}

export async function waitGone(env: ClusterEnv, ns: string, kind: string, name: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(async () => (await getJson(env, ns, kind, name)) === undefined, timeoutMs, `${kind} ${ns}/${name} to be deleted`);
}

/** A ServiceAccount with (or without) the Role the router checks: create on sandboxes/exec. */
export async function agentToken(env: ClusterEnv, ns: string, name: string, withRbac: boolean): Promise<string> {
  await kubectlOk(env, ["-n", ns, "create", "serviceaccount", name]);
  if (withRbac) {
    await kubectlOk(env, ["-n", ns, "create", "role", `${name}-exec`, "--verb=create", "--resource=sandboxes.agents.x-k8s.io/exec"]);
    await kubectlOk(env, ["-n", ns, "create", "rolebinding", `${name}-exec`, `--role=${name}-exec`, `--serviceaccount=${ns}:${name}`]);
  }
  return (await kubectlOk(env, ["-n", ns, "create", "token", name, "--duration=1h"])).trim();
}

/** Base URL of a Ready router pod (pod IPs are reachable from the node the tests run on). */
export async function routerUrl(env: ClusterEnv): Promise<string> {
  const pods = await list(env, OPERATOR_NS, "pod", "app=sandbox-router");
  const ready = pods.find((p) => isReady(p) && p.status?.podIP);
  if (!ready?.status?.podIP)
    throw new Error(`no Ready router pod in ${OPERATOR_NS} (kubectl -n ${OPERATOR_NS} get pods -l app=sandbox-router)`);
  return `http://${ready.status.podIP}:8080`;
}

export interface ExecuteResult {
  status: number;
  body: {
    stdout?: string;
    stderr?: string;
    exitCode?: number;
    results?: { mimeType: string; data: string }[];
    error?: { code?: string; message?: string };
  };
}

/** POST /sandboxes/{ns}/{name}/v1/execute through the router; never throws on HTTP errors. */
export async function execute(router: string, ns: string, name: string, code: string, token?: string): Promise<ExecuteResult> {
  const res = await fetch(`${router}/sandboxes/${ns}/${name}/v1/execute`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ code, language: "python" }),
    signal: AbortSignal.timeout(90_000),
  });
  const text = await res.text();
  let body: ExecuteResult["body"];
  try {
    body = JSON.parse(text) as ExecuteResult["body"];
  } catch {
    throw new Error(`router answered HTTP ${res.status} with a non-JSON body: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body };
}

/** execute that must succeed (HTTP 200, exit code 0); returns stdout. */
export async function executeOk(router: string, ns: string, name: string, code: string, token: string): Promise<string> {
  const r = await execute(router, ns, name, code, token);
  if (r.status !== 200 || r.body.exitCode !== 0)
    throw new Error(`execute in ${ns}/${name} failed: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.stdout ?? "";
}

/**
 * Deletes the namespace and waits (bounded) until it is gone, so the next file gets the
 * node's CPU back: every sandbox pod reserves 110m of the 2 CPUs.
 */
export async function deleteNamespaceAndWait(env: ClusterEnv, ns: string, timeoutMs = 60_000): Promise<void> {
  await kubectl(env, ["delete", "namespace", ns, "--wait=false"]);
  try {
    await waitFor(async () => (await kubectl(env, ["get", "namespace", ns])).code !== 0, timeoutMs, `namespace ${ns} to be deleted`);
  } catch {
    // Leaving it terminating in the background is harmless; only capacity is at stake.
  }
}

/**
 * Host PIDs of the processes in the pod with this UID (their cgroup paths carry it) whose
 * command line `matches`: the tests run on the node, and some must kill a pod's process the
 * way the host does (a `kill -9`, an OOM kill).
 */
export function hostPidsOfPod(podUid: string, matches: (argv: string[]) => boolean): number[] {
  const forms = [podUid, podUid.replaceAll("-", "_")];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cgroup = readFileSync(`/proc/${entry}/cgroup`, "utf8");
      if (!forms.some((f) => cgroup.includes(f))) continue;
      if (matches(readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0"))) pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

/**
 * A SandboxTemplate "python" of the runtime image and a warm pool of it, as a user applies them;
 * waits until the pool has `replicas` Ready members when `waitReady` says so.
 */
export async function applyPythonPool(
  env: ClusterEnv,
  ns: string,
  pool: string,
  o: { replicas: number; waitReady: boolean },
): Promise<void> {
  await apply(
    env,
    JSON.stringify({
      apiVersion: EXT_API,
      kind: "SandboxTemplate",
      metadata: { name: "python", namespace: ns },
      spec: { podTemplate: { spec: mainPodSpec(env.runtimeImage) } },
    }),
  );
  await apply(
    env,
    JSON.stringify({
      apiVersion: EXT_API,
      kind: "SandboxWarmPool",
      metadata: { name: pool, namespace: ns },
      spec: { replicas: o.replicas, sandboxTemplateRef: { name: "python" } },
    }),
  );
  if (o.waitReady)
    await waitFor(
      async () => (await getJson(env, ns, "sandboxwarmpool", pool))?.status?.readyReplicas === o.replicas,
      120_000,
      `warm pool ${pool}`,
    );
}
