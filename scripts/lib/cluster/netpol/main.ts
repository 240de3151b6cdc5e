/**
 * agent-sandbox-netpol: the local cluster's NetworkPolicy enforcer (node process, iptables).
 *
 * Why our own: no kube-network-policies release works on this kernel (they need nft `queue`,
 * which the kernel lacks), and the only kube-router release the module proxy serves here
 * (v2.1.0) has reported security flaws; kube-router can still be switched in for comparison
 * (`scripts/cluster.sh netpol kube-router`), and both are checked against Kubernetes' own
 * NetworkPolicy e2e tests (test/netpol-conformance). It watches Pods, Namespaces
 * and NetworkPolicies, rebuilds its iptables chains on every change (see rules.ts), and hooks
 * them first in FORWARD (pod-to-pod and pod-to-outside traffic, bridged traffic included via
 * br_netfilter) and INPUT (pod-to-node traffic). Node-to-pod traffic (kubelet probes) is not
 * filtered, as with most enforcers.
 *
 *   tsx main.ts --kubeconfig FILE [--health-port 10270]     run
 *   tsx main.ts --cleanup                                   remove every rule and chain it owns
 */
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { promisify } from "node:util";
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  makeInformer,
  type KubernetesObject,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Pod,
} from "@kubernetes/client-node";
import { Command } from "commander";
import { pino } from "pino";
import { CHAIN_PREFIX, FORWARD_CHAIN, INPUT_CHAIN, buildRestore, type NamespaceView, type PodView } from "./rules.js";

const run = promisify(execFile);
const log = pino({ name: "agent-sandbox-netpol", level: process.env["LOG_LEVEL"] ?? "info" });
const HOOKS: ReadonlyArray<readonly [string, string]> = [
  ["FORWARD", FORWARD_CHAIN],
  ["INPUT", INPUT_CHAIN],
];

async function iptables(args: string[]): Promise<string> {
  const { stdout } = await run("iptables", ["-w", "5", ...args]);
  return stdout;
}

async function restore(text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn("iptables-restore", ["-w", "5", "--noflush"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`iptables-restore exited ${code}: ${stderr.trim()}`))));
    child.stdin.on("error", () => undefined); // EPIPE when iptables-restore exits early; its exit code tells
    child.stdin.end(text);
  });
}

async function ownedChains(): Promise<Set<string>> {
  const out = await iptables(["-t", "filter", "-S"]);
  const chains = new Set<string>();
  for (const line of out.split("\n")) {
    const m = /^-N (\S+)$/.exec(line);
    if (m?.[1]?.startsWith(CHAIN_PREFIX)) chains.add(m[1]);
  }
  return chains;
}

/** Our jump must be the first rule of each hook chain: kube-proxy ACCEPTs some traffic early. */
async function ensureHooks(): Promise<void> {
  for (const [hook, chain] of HOOKS) {
    const first = (await iptables(["-t", "filter", "-S", hook, "1"])).trim();
    if (first === `-A ${hook} -j ${chain}`) continue;
    await iptables(["-t", "filter", "-I", hook, "1", "-j", chain]);
    // Drop any older copy further down so there is exactly one.
    const rules = (await iptables(["-t", "filter", "-S", hook])).split("\n");
    const copies = rules.filter((r) => r.trim() === `-A ${hook} -j ${chain}`).length;
    for (let i = 1; i < copies; i++) {
      // Deleting by spec removes the first match, which is our fresh rule; re-insert after.
      await iptables(["-t", "filter", "-D", hook, "-j", chain]);
    }
    if (copies > 1) await iptables(["-t", "filter", "-I", hook, "1", "-j", chain]);
  }
}

async function cleanup(): Promise<void> {
  for (const [hook, chain] of HOOKS) {
    for (;;) {
      try {
        await iptables(["-t", "filter", "-D", hook, "-j", chain]);
      } catch {
        break;
      }
    }
  }
  const chains = await ownedChains();
  if (chains.size === 0) return;
  const text = ["*filter", ...[...chains].map((c) => `:${c} - [0:0]`), ...[...chains].map((c) => `-X ${c}`), "COMMIT", ""].join("\n");
  await restore(text);
}

function podView(pod: V1Pod): PodView | undefined {
  const ip = pod.status?.podIP;
  const phase = pod.status?.phase;
  if (!ip || pod.spec?.hostNetwork || phase === "Succeeded" || phase === "Failed") return undefined;
  const namedPorts = (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).flatMap((p) => (p.name ? [{ name: p.name, port: p.containerPort, protocol: p.protocol ?? "TCP" }] : [])),
  );
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    ip,
    labels: pod.metadata?.labels ?? {},
    namedPorts,
  };
}

async function main(): Promise<void> {
  const program = new Command()
    .option("--kubeconfig <file>", "kubeconfig of the enforcer's identity")
    .option("--health-port <port>", "127.0.0.1 port serving /healthz once the first sync is in", "10270")
    .option("--cleanup", "remove every rule and chain this enforcer owns, then exit")
    .parse();
  const opts = program.opts<{ kubeconfig?: string; healthPort: string; cleanup?: boolean }>();
  if (opts.cleanup) {
    await cleanup();
    log.info("removed all NetworkPolicy enforcer rules");
    return;
  }
  if (!opts.kubeconfig) throw new Error("--kubeconfig is required (or --cleanup)");
  const healthPort = Number(opts.healthPort);
  if (!Number.isInteger(healthPort) || healthPort <= 0 || healthPort > 65535) {
    throw new Error(`--health-port must be a TCP port number, got "${opts.healthPort}"`);
  }

  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  const pods = makeInformer<V1Pod>(kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
  const namespaces = makeInformer<V1Namespace>(kc, "/api/v1/namespaces", () => core.listNamespace());
  const policies = makeInformer<V1NetworkPolicy>(kc, "/apis/networking.k8s.io/v1/networkpolicies", () =>
    net.listNetworkPolicyForAllNamespaces(),
  );

  let chains = await ownedChains();
  let synced = false;
  let syncing = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const sync = async (): Promise<void> => {
    if (syncing) {
      again = true;
      return;
    }
    syncing = true;
    try {
      do {
        again = false;
        const podViews = pods.list().flatMap((p) => podView(p) ?? []);
        const nsViews: NamespaceView[] = namespaces.list().map((n) => ({ name: n.metadata?.name ?? "", labels: n.metadata?.labels ?? {} }));
        const built = buildRestore(podViews, nsViews, policies.list(), chains);
        await restore(built.text);
        chains = built.chains;
        await ensureHooks();
        if (!synced) log.info({ pods: podViews.length, policies: policies.list().length }, "first sync applied");
        synced = true;
      } while (again);
    } catch (err) {
      log.error({ err }, "sync failed; retrying in 2s");
      setTimeout(() => schedule(), 2000);
    } finally {
      syncing = false;
    }
  };
  // Bursts of pod updates collapse into one rebuild.
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void sync(), 50);
  };

  for (const inf of [pods, namespaces, policies] as Array<ReturnType<typeof makeInformer<KubernetesObject>>>) {
    for (const verb of ["add", "update", "delete"] as const) inf.on(verb, schedule);
    inf.on("error", (err: unknown) => {
      log.warn({ err }, "watch failed; restarting in 2s");
      setTimeout(() => void inf.start().catch((e: unknown) => log.error({ err: e }, "watch restart failed")), 2000);
    });
  }
  await Promise.all([pods.start(), namespaces.start(), policies.start()]);
  await sync();
  // Re-check the hook position now and then: another component may have inserted rules above ours.
  setInterval(() => void ensureHooks().catch((err: unknown) => log.error({ err }, "hook check failed")), 10_000).unref();

  createServer((req, res) => {
    const ok = req.url === "/healthz" && synced;
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
    res.end(ok ? "ok\n" : "not synced\n");
  }).listen(healthPort, "127.0.0.1");
  log.info({ healthPort }, "NetworkPolicy enforcer running");

  const stop = (): void => {
    void Promise.all([pods.stop(), namespaces.stop(), policies.stop()]).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  log.fatal({ err }, "agent-sandbox-netpol failed");
  process.exit(1);
});
