// `npm run demo`: brings the local cluster up if needed (scripts/cluster.sh), creates a
// SandboxTemplate and a SandboxWarmPool, claims a sandbox, runs stateful Python in it twice
// through the router (the second call uses a variable the first defined), and prints the
// results with the measured claim-to-first-result time.
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { Informer, Kube, createLogger, isAlreadyExists, type Condition } from "../src/runtime/index.js";

const repo = path.resolve(import.meta.dirname, "..");
const cluster = path.join(repo, "scripts/cluster.sh");
const ns = "demo";
const EXT = "extensions.agents.x-k8s.io/v1beta1";
type Obj = KubernetesObject & { status?: { conditions?: Condition[]; readyReplicas?: number; sandbox?: { name?: string } } };

function say(message: string): void {
  console.log(`[demo] ${message}`);
}

function clusterEnv(): Record<string, string> {
  const out = execFileSync("bash", [cluster, "env"], { encoding: "utf8" });
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function ensureCluster(): void {
  const status = spawnSync("bash", [cluster, "status"], { stdio: "ignore" });
  if (status.status === 0) {
    say("local cluster is up");
    return;
  }
  say("bringing the local cluster up (first run builds and caches everything; see scripts/lib/cluster/README.md)");
  const t0 = Date.now();
  const up = spawnSync("bash", [cluster, "up"], { stdio: "inherit" });
  if (up.status !== 0) throw new Error(`scripts/cluster.sh up failed (exit ${up.status}); logs in /var/log/agent-sandbox-cluster/`);
  say(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function applyAll(kube: Kube, objects: KubernetesObject[]): Promise<void> {
  for (const o of objects) await kube.apply(o);
}

/** Resolves when the watched object satisfies `pred` (watch-driven, no polling). */
function watchUntil(informer: Informer<Obj>, name: string, pred: (o: Obj) => boolean, timeoutMs: number, what: string): Promise<Obj> {
  return new Promise((resolve, reject) => {
    const now = informer.get(ns, name);
    if (now && pred(now)) return resolve(now);
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)), timeoutMs);
    const check = (o: Obj) => {
      if (o.metadata?.name === name && pred(o)) {
        clearTimeout(timer);
        resolve(o);
      }
    };
    informer.addHandler({ add: check, update: check });
  });
}

const ready = (o: Obj) => o.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

async function main(): Promise<void> {
  ensureCluster();
  const env = clusterEnv();
  const kc = new KubeConfig();
  kc.loadFromFile(env["KUBECONFIG"] ?? "");
  const kube = new Kube(kc, { fieldManager: "agent-sandbox-demo" });
  const runtimeImage = env["RUNTIME_IMAGE"] ?? "agent-sandbox/runtime:0.1.0";

  await applyAll(kube, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    {
      apiVersion: EXT,
      kind: "SandboxTemplate",
      metadata: { name: "python", namespace: ns },
      spec: {
        podTemplate: {
          spec: { containers: [{ name: "main", image: runtimeImage, imagePullPolicy: "Never", command: ["sleep", "infinity"] }] },
        },
      },
    } as KubernetesObject,
    {
      apiVersion: EXT,
      kind: "SandboxWarmPool",
      metadata: { name: "python-pool", namespace: ns },
      spec: { replicas: 2, sandboxTemplateRef: { name: "python" } },
    } as KubernetesObject,
    // The agent's identity: may call the execution API of sandboxes in this namespace, nothing else.
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "demo-agent", namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "sandbox-user", namespace: ns },
      rules: [{ apiGroups: ["agents.x-k8s.io"], resources: ["sandboxes/exec"], verbs: ["create"] }],
    } as KubernetesObject,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "demo-agent-sandbox-user", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "sandbox-user" },
      subjects: [{ kind: "ServiceAccount", name: "demo-agent", namespace: ns }],
    } as KubernetesObject,
  ]);

  const logger = createLogger({ level: "warn" });
  const pools = new Informer<Obj>({ kube, apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, logger });
  const claims = new Informer<Obj>({ kube, apiVersion: EXT, kind: "SandboxClaim", namespace: ns, logger });
  await Promise.all([pools.start(), claims.start()]);
  await Promise.all([pools.waitForSync(), claims.waitForSync()]);
  try {
    say("waiting for the warm pool (2 gVisor sandboxes) to be Ready");
    await watchUntil(pools, "python-pool", (p) => (p.status?.readyReplicas ?? 0) >= 2, 300_000, "the warm pool");

    const token = (
      await kube.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/demo-agent/token`, {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
      })
    ).status.token;
    const routers = await kube.list<KubernetesObject & { status?: { podIP?: string } }>(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: "agent-sandbox-system", labelSelector: "app=sandbox-router" },
    );
    const routerIP = routers.items.find((p) => p.status?.podIP)?.status?.podIP;
    if (!routerIP) throw new Error("no running router pod in agent-sandbox-system (kubectl -n agent-sandbox-system get pods)");
    const router = `http://${routerIP}:8080`;

    const claimName = `demo-${Date.now().toString(36)}`;
    say(`claiming sandbox ${claimName} from the warm pool`);
    const t0 = performance.now();
    try {
      await kube.create({
        apiVersion: EXT,
        kind: "SandboxClaim",
        metadata: { name: claimName, namespace: ns },
        spec: {
          warmPoolRef: { name: "python-pool" },
          lifecycle: { shutdownTime: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"), shutdownPolicy: "Delete" },
        },
      } as KubernetesObject);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const claim = await watchUntil(claims, claimName, ready, 120_000, "the claim");
    const tReady = performance.now();

    const execute = async (code: string) => {
      const res = await fetch(`${router}/sandboxes/${ns}/${claimName}/v1/execute`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ code, language: "python" }),
      });
      const body = (await res.json()) as { stdout?: string; results?: { mimeType: string; data: string }[]; error?: unknown };
      if (!res.ok) throw new Error(`execute failed: HTTP ${res.status} ${JSON.stringify(body)}`);
      return body;
    };
    const first = await execute(
      "import platform\nlines = ['alpha', 'beta', 'gamma']\nprint('kernel:', platform.uname().release, platform.uname().version)\nlen(lines)",
    );
    const tFirst = performance.now();
    const second = await execute("print(' '.join(w.upper() for w in lines))");

    say(`claim bound to sandbox ${claim.status?.sandbox?.name}`);
    say(`call 1 stdout: ${first.stdout?.trim()}  result: ${first.results?.find((r) => r.mimeType === "text/plain")?.data}`);
    say(`call 2 stdout: ${second.stdout?.trim()}   (uses \`lines\` from call 1)`);
    say(`claim -> Ready: ${(tReady - t0).toFixed(0)} ms; claim -> first result: ${(tFirst - t0).toFixed(0)} ms`);
    // The claim (and with it the sandbox) goes; the warm pool stays for the next run.
    await kube.delete({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name: claimName });
    say(`deleted claim ${claimName}; the warm pool refills in the background`);
  } finally {
    await pools.stop();
    await claims.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`[demo] FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
