// What one sandbox costs the node, for our operator with its execution sidecar, for our operator
// without it (the pod upstream's controller makes), and for upstream's controller itself, on the
// same local cluster and template: the requests a sandbox pod reserves (and so how many fit on
// the node), the CPU its start-up burns (the whole machine's, and its pod's own), and what an idle
// sandbox keeps using (its pod's CPU and memory). Each variant fills a pool from zero in a fresh
// namespace, waits until every member is Ready, lets it settle, and measures an idle window.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  EXT_API,
  SANDBOX_API,
  Watcher,
  connectLocalCluster,
  cpuMillis,
  createNamespace,
  memoryMiB,
  deleteNamespace,
  isReady,
  printTable,
  round1,
  sandboxPodSpec,
  sleep,
  type Obj,
} from "../lib/local-cluster.js";
import { ourReplicas, startOurOperator, stopOurOperator } from "../lib/our-operator.js";
import { startUpstreamController, upstreamControllerBinary, type UpstreamProcess } from "../lib/upstream-controller.js";
import { summarize } from "../lib/stats.js";
import type { Scenario } from "../lib/scenario.js";

const VARIANTS = ["ours-execd", "ours-bare", "upstream"] as const;
type Variant = (typeof VARIANTS)[number];

/** The kubelet's pod cgroups (cgroup v1, cgroupfs driver, as the local cluster runs it). */
const CPUACCT = "/sys/fs/cgroup/cpuacct/kubepods";
const MEMORY = "/sys/fs/cgroup/memory/kubepods";

type Container = { name: string; restartPolicy?: string; resources?: { requests?: Record<string, string> } };
type PodObj = Obj & { spec?: { containers?: Container[]; initContainers?: Container[] } };

/** Busy CPU seconds of the whole machine so far (every core), from /proc/stat. */
function machineCpuSeconds(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
  const busy = (fields[0] ?? 0) + (fields[1] ?? 0) + (fields[2] ?? 0) + (fields[5] ?? 0) + (fields[6] ?? 0) + (fields[7] ?? 0);
  // In USER_HZ ticks, which Linux fixes at 100 a second.
  return busy / 100;
}

/** The cgroup directory of a pod (by uid) under one controller's kubepods tree, if there is one. */
function podCgroup(root: string, uid: string): string | undefined {
  return ["burstable", "besteffort", ""].map((qos) => path.join(root, qos, `pod${uid}`)).find((dir) => existsSync(dir));
}

function readNumber(file: string): number {
  return Number(readFileSync(file, "utf8").trim());
}

/** A pod's working set in bytes, as the kubelet counts it: usage minus inactive file pages. */
function workingSetBytes(dir: string): number {
  const stat = Object.fromEntries(
    readFileSync(path.join(dir, "memory.stat"), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]),
  );
  return Math.max(0, readNumber(path.join(dir, "memory.usage_in_bytes")) - Number(stat["total_inactive_file"] ?? 0));
}

/** The CPU and memory a pod reserves: its app containers plus its sidecars (restartable init containers). */
function podRequests(pod: PodObj): { cpuMillis: number; memoryMiB: number; containers: string[] } {
  const running = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always")];
  return {
    cpuMillis: running.reduce((s, c) => s + cpuMillis(c.resources?.requests?.["cpu"]), 0),
    memoryMiB: running.reduce((s, c) => s + memoryMiB(c.resources?.requests?.["memory"]), 0),
    containers: running.map((c) => c.name),
  };
}

interface VariantResult {
  variant: Variant;
  members: number;
  fillMs: number;
  requests: { cpuMillis: number; memoryMiB: number; containers: string[] };
  /** How many such pods the node's allocatable CPU, memory and pod count admit (none else running). */
  fitOnNode: { byCpu: number; byMemory: number; byPods: number; fit: number };
  /** Busy CPU seconds of the whole machine from the pool's create call to its last member Ready, per member. */
  machineCpuSecondsPerMember: number;
  /** CPU seconds the members' own pod cgroups used from creation to the end of the settle, per member. */
  podCpuSecondsPerMember: number;
  /** Per member over the idle window: CPU in millicores and working set in MiB. */
  idleCpuMillis: number[];
  idleWorkingSetMiB: number[];
}

export const scenario: Scenario = {
  name: "density",
  description:
    "local cluster (gVisor): per-sandbox requests, node fit, start-up CPU and idle CPU/memory: ours with execd, ours without, upstream's controller",
  async run(log) {
    const members = Number(process.env["BENCH_DENSITY_MEMBERS"] ?? 6);
    const idleMs = Number(process.env["BENCH_DENSITY_IDLE_MS"] ?? 20_000);
    if (!Number.isInteger(members) || members < 1) throw new Error(`BENCH_DENSITY_MEMBERS must be a whole number >= 1`);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    const { binary, version } = upstreamControllerBinary(log);
    const replicas = await ourReplicas(kube);
    const nodes = await kube.list<Obj & { status?: { allocatable?: Record<string, string> } }>({ apiVersion: "v1", kind: "Node" });
    const allocatable = nodes.items[0]?.status?.allocatable ?? {};
    const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), "bench-density-")), "upstream-controller.log");
    const results: VariantResult[] = [];
    let upstream: UpstreamProcess | undefined;
    try {
      await startOurOperator(kube, replicas);
      for (const variant of VARIANTS) {
        if (variant === "upstream") {
          await stopOurOperator(kube, replicas);
          upstream = await startUpstreamController(binary, cluster.kubeconfig, logFile);
        }
        const namespace = `bench-density-${variant}`;
        results.push(await measure(variant, namespace));
        if (upstream) {
          await upstream.stop();
          upstream = undefined;
        }
      }
    } finally {
      if (upstream) await upstream.stop();
      await startOurOperator(kube, replicas);
    }

    async function measure(variant: Variant, namespace: string): Promise<VariantResult> {
      await createNamespace(kube, namespace);
      const sandboxes = new Watcher(kube, SANDBOX_API, "Sandbox", namespace);
      try {
        await sandboxes.start();
        const template = {
          ...(variant === "ours-bare" ? { metadata: { annotations: { "agents.x-k8s.io/execd": "false" } } } : {}),
          spec: { ...sandboxPodSpec(cluster.runtimeImage), runtimeClassName: "gvisor" },
        };
        await kube.create({
          apiVersion: EXT_API,
          kind: "SandboxTemplate",
          metadata: { name: "density", namespace },
          spec: { podTemplate: template },
        } as KubernetesObject);
        const cpu0 = machineCpuSeconds();
        const t0 = performance.now();
        await kube.create({
          apiVersion: EXT_API,
          kind: "SandboxWarmPool",
          metadata: { name: "pool", namespace },
          spec: { replicas: members, sandboxTemplateRef: { name: "density" } },
        } as KubernetesObject);
        await sandboxes.until(undefined, () => sandboxes.list().filter(isReady).length >= members, 600_000, `${members} Ready members`);
        const fillMs = performance.now() - t0;
        const machineCpu = machineCpuSeconds() - cpu0;
        await sleep(5_000);
        const pods = (await kube.list<PodObj>({ apiVersion: "v1", kind: "Pod" }, { namespace })).items;
        const dirs = pods.map((p) => ({ cpu: podCgroup(CPUACCT, p.metadata?.uid ?? ""), mem: podCgroup(MEMORY, p.metadata?.uid ?? "") }));
        const podCpuNs = (): number[] => dirs.map((d) => (d.cpu ? readNumber(path.join(d.cpu, "cpuacct.usage")) : Number.NaN));
        const startCpu = podCpuNs();
        await sleep(idleMs);
        const endCpu = podCpuNs();
        const idleCpuMillis = endCpu.map((e, i) => round1(((e - (startCpu[i] ?? 0)) / 1e6 / idleMs) * 1000));
        const idleWorkingSetMiB = dirs.map((d) => (d.mem ? round1(workingSetBytes(d.mem) / 1048576) : Number.NaN));
        const first = pods[0];
        if (!first) throw new Error(`no pods in ${namespace}`);
        const requests = podRequests(first);
        const byCpu = Math.floor(cpuMillis(allocatable["cpu"]) / Math.max(requests.cpuMillis, 1));
        const byMemory = Math.floor(memoryMiB(allocatable["memory"]) / Math.max(requests.memoryMiB, 1));
        const byPods = Number(allocatable["pods"] ?? 110);
        const result: VariantResult = {
          variant,
          members: pods.length,
          fillMs: round1(fillMs),
          requests,
          fitOnNode: { byCpu, byMemory, byPods, fit: Math.min(byCpu, byMemory, byPods) },
          machineCpuSecondsPerMember: Math.round((machineCpu / members) * 100) / 100,
          podCpuSecondsPerMember: Math.round((startCpu.reduce((s, x) => s + x, 0) / 1e9 / members) * 100) / 100,
          idleCpuMillis,
          idleWorkingSetMiB,
        };
        log(
          `${variant}: ${members} members Ready in ${Math.round(fillMs)} ms; requests ${requests.cpuMillis}m / ${round1(requests.memoryMiB)}Mi (${requests.containers.join(", ")})`,
        );
        return result;
      } finally {
        await sandboxes.stop();
        await deleteNamespace(kube, namespace, 300_000).catch((err: unknown) =>
          log(`cleanup of ${namespace}: ${err instanceof Error ? err.message : String(err)}`),
        );
      }
    }

    printTable(
      log,
      [
        "",
        "requests (CPU / memory)",
        "fit on node",
        "machine CPU s per start",
        "pod CPU s per start",
        "idle CPU m p50",
        "idle working set MiB p50",
      ],
      results.map((r) => [
        r.variant,
        `${r.requests.cpuMillis}m / ${round1(r.requests.memoryMiB)}Mi`,
        `${r.fitOnNode.fit} (cpu ${r.fitOnNode.byCpu}, mem ${r.fitOnNode.byMemory})`,
        r.machineCpuSecondsPerMember,
        r.podCpuSecondsPerMember,
        summarize(r.idleCpuMillis, "m").p50,
        summarize(r.idleWorkingSetMiB, "MiB").p50,
      ]),
    );
    return {
      method:
        `Each variant fills a pool of ${members} from zero in a fresh namespace (same template: the main container under gvisor; "ours-bare" adds the annotation that leaves out the execd sidecar, ` +
        `so its pods are the ones upstream's ${version} controller makes), waits for every member Ready, settles 5 s, then measures a ${idleMs / 1000} s idle window. ` +
        "Machine CPU: busy seconds of all cores (/proc/stat) from the pool's create call to the last member Ready, per member: everything the start-up set off (API server, kubelet, containerd, runsc, the controller). " +
        "Pod CPU: the members' own pod cgroups (cpuacct) from creation to the end of the settle. Idle: pod cgroup CPU over the window, and working set (memory usage minus inactive file). " +
        "Fit: the node's allocatable CPU, memory and pod count divided by one member pod's requests (app containers plus sidecars), nothing else running.",
      config: { members, idleMs, upstreamVersion: version, allocatable },
      results,
    };
  },
};
