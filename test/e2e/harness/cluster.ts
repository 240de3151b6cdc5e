import { execFile, spawn } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const REPO_ROOT = resolve(import.meta.dirname, "../../..");
export const CLUSTER_SCRIPT = resolve(REPO_ROOT, "scripts/cluster.sh");

/** Facts about the local cluster, as printed by `scripts/cluster.sh env`. */
export interface ClusterEnv {
  kubeconfig: string;
  kubectl: string;
  toolboxImage: string;
  runtimeImage: string;
  operatorImage: string;
}

export async function clusterEnv(): Promise<ClusterEnv> {
  const { stdout } = await run("bash", [CLUSTER_SCRIPT, "env"], { maxBuffer: 1 << 20 });
  const vars = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) vars.set(line.slice(0, i), line.slice(i + 1));
  }
  const get = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`scripts/cluster.sh env did not print ${k}`);
    return v;
  };
  return {
    kubeconfig: get("KUBECONFIG"),
    kubectl: get("KUBECTL"),
    toolboxImage: get("TOOLBOX_IMAGE"),
    runtimeImage: get("RUNTIME_IMAGE"),
    operatorImage: get("OPERATOR_IMAGE"),
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl against the local cluster; never throws, the caller judges the exit code. */
export function kubectl(env: ClusterEnv, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(env.kubectl, ["--kubeconfig", env.kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    // kubectl may exit before reading its input (a failed exec, a refused request); the write then
    // fails with EPIPE, which must not crash the test process: the exit code above reports it.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}

/** kubectl that must succeed. */
export async function kubectlOk(env: ClusterEnv, args: string[], input?: string): Promise<string> {
  const r = await kubectl(env, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function apply(env: ClusterEnv, manifest: string): Promise<void> {
  await kubectlOk(env, ["apply", "-f", "-"], manifest);
}

/**
 * Label on every namespace this tier creates. A run that was interrupted leaves its namespaces
 * (and their sandboxes' CPU requests) behind; the tier's setup deletes them by this label so the
 * one node has room again.
 */
export const TEST_NAMESPACE_LABEL = "agent-sandbox-ts/test";

/** A fresh namespace per test file, so files never see each other's objects. */
export async function createNamespace(env: ClusterEnv, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  await apply(env, JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: "e2e" } } }));
  // Pods are rejected until the service-account controller has made "default".
  await waitFor(
    async () => (await kubectl(env, ["-n", name, "get", "serviceaccount", "default"])).code === 0,
    30_000,
    `serviceaccount default in ${name}`,
  );
  return name;
}

export async function deleteNamespace(env: ClusterEnv, name: string): Promise<void> {
  await kubectl(env, ["delete", "namespace", name, "--wait=false"]);
}

export async function waitPodReady(env: ClusterEnv, ns: string, pod: string, timeoutS = 120): Promise<void> {
  const r = await kubectl(env, ["-n", ns, "wait", "--for=condition=Ready", `pod/${pod}`, `--timeout=${timeoutS}s`]);
  if (r.code !== 0) {
    const describe = await kubectl(env, ["-n", ns, "describe", "pod", pod]);
    throw new Error(`pod ${ns}/${pod} not Ready: ${r.stderr}\n${describe.stdout.slice(-3000)}`);
  }
}

export async function podIP(env: ClusterEnv, ns: string, pod: string): Promise<string> {
  const ip = (await kubectlOk(env, ["-n", ns, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"])).trim();
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`pod ${ns}/${pod} has no IPv4 address (got "${ip}")`);
  return ip;
}

export function exec(env: ClusterEnv, ns: string, pod: string, command: string[]): Promise<RunResult> {
  return kubectl(env, ["-n", ns, "exec", pod, "--", ...command]);
}

/** Polls until `check` holds; eventual consistency (policy sync, DNS) needs this, timing is never asserted. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A long-running pod from the toolbox image (Debian + python3), restricted like a sandbox. */
export function toolboxPod(opts: {
  name: string;
  namespace: string;
  image: string;
  labels?: Record<string, string>;
  runtimeClassName?: string;
  command?: string[];
  hostname?: string;
  subdomain?: string;
  port?: number;
}): string {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: opts.name, namespace: opts.namespace, labels: opts.labels ?? {} },
    spec: {
      ...(opts.runtimeClassName ? { runtimeClassName: opts.runtimeClassName } : {}),
      ...(opts.hostname ? { hostname: opts.hostname } : {}),
      ...(opts.subdomain ? { subdomain: opts.subdomain } : {}),
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "main",
          image: opts.image,
          imagePullPolicy: "Never",
          command: opts.command ?? ["sleep", "3600"],
          ...(opts.port ? { ports: [{ name: "http", containerPort: opts.port }] } : {}),
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        },
      ],
    },
  };
  return JSON.stringify(pod);
}
