// Claim latency, burst and scale on the integration tier's real control plane (etcd,
// kube-apiserver, KCM, scheduler, kwok fake nodes), with the compiled operator as its own
// process. Pods here are kwok's, so these figures are the operator's and the API server's
// share of a claim: warm adoption involves no kubelet work, cold starts do (and kwok's is
// instant, so cold figures here are a lower bound; see cold-start on the local cluster).
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { Informer, Kube, createLogger, type Condition } from "../../src/runtime/index.js";
import { createFakeNodeObject, startControlPlane } from "../../test/integration/harness/control-plane.js";
import { FAKE_NODE_TOLERATION } from "../../test/integration/harness/cluster.js";
import { startOperatorProcess } from "../lib/operator-process.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
type Obj = KubernetesObject & { status?: { conditions?: Condition[]; readyReplicas?: number; replicas?: number; sandbox?: { name?: string } } };
const isReady = (o: Obj | undefined) => o?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

const sequentialClaims = Number(process.env["BENCH_SEQ_CLAIMS"] ?? 100);
const burstClaims = Number(process.env["BENCH_BURST_CLAIMS"] ?? 200);
const scaleSandboxes = Number(process.env["BENCH_SCALE_SANDBOXES"] ?? 1000);

/** Resolves when `pred` holds for the cached object, driven by watch events (no polling). */
function whenCached(informer: Informer<Obj>, ns: string, name: string, pred: (o: Obj | undefined) => boolean, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (pred(informer.get(ns, name))) return resolve(performance.now());
    const timer = setTimeout(() => reject(new Error(`${name}: condition not met within ${timeoutMs} ms`)), timeoutMs);
    const check = (o: Obj) => {
      if (o.metadata?.name === name && o.metadata.namespace === ns && pred(o)) {
        clearTimeout(timer);
        resolve(performance.now());
      }
    };
    informer.addHandler({ add: check, update: check });
  });
}

async function apiRequests(kube: Kube): Promise<number> {
  const text = await kube.request<string>("GET", "/metrics");
  let total = 0;
  for (const line of String(text).split("\n")) {
    if (line.startsWith("apiserver_request_total{") && !line.includes('verb="WATCH"') && !line.includes('verb="LIST"') && !line.includes("group=\"coordination.k8s.io\"")) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

function templateAndPool(ns: string, replicas: number): KubernetesObject[] {
  return [
    {
      apiVersion: EXT,
      kind: "SandboxTemplate",
      metadata: { name: "python", namespace: ns },
      spec: { podTemplate: { spec: { tolerations: [{ ...FAKE_NODE_TOLERATION }], containers: [{ name: "main", image: "agent-sandbox/runtime:bench" }] } } },
    } as KubernetesObject,
    { apiVersion: EXT, kind: "SandboxWarmPool", metadata: { name: "pool", namespace: ns }, spec: { replicas, sandboxTemplateRef: { name: "python" } } } as KubernetesObject,
  ];
}

export const scenario: Scenario = {
  name: "claims-kwok",
  description: "warm claim latency, a concurrent burst and scale on the real control plane with kwok pods",
  async run(log) {
    const cp = await startControlPlane({ log });
    const kc = new KubeConfig();
    kc.loadFromFile(cp.info.kubeconfig);
    const kube = new Kube(kc);
    await kube.create({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: "gvisor" }, handler: "runsc" } as KubernetesObject);
    // Each fake node takes 1000 pods, 64 CPUs and 256 GiB; sandbox pods request 200m and 512Mi
    // (main container + execd sidecar defaults), so add nodes for every 250 sandboxes.
    const total = sequentialClaims + 10 + burstClaims + scaleSandboxes;
    for (let i = 1; i <= Math.ceil(total / 250); i++) await createFakeNodeObject(kube, `kwok-node-${i}`, true);
    const operator = await startOperatorProcess(cp.info.kubeconfig);
    const logger = createLogger({ level: "warn" });
    const claims = new Informer<Obj>({ kube, apiVersion: EXT, kind: "SandboxClaim", logger });
    const pools = new Informer<Obj>({ kube, apiVersion: EXT, kind: "SandboxWarmPool", logger });
    await Promise.all([claims.start(), pools.start()]);
    await Promise.all([claims.waitForSync(), pools.waitForSync()]);
    const results: Record<string, unknown> = {};
    try {
      // 1. Sequential warm claims against a pool big enough that every claim finds a Ready member.
      const seqNs = "bench-seq";
      await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: seqNs } } as KubernetesObject);
      for (const o of templateAndPool(seqNs, sequentialClaims + 10)) await kube.create(o);
      let t0 = performance.now();
      await whenCached(pools, seqNs, "pool", (p) => p?.status?.readyReplicas === sequentialClaims + 10, 300_000);
      results["poolFill"] = { members: sequentialClaims + 10, seconds: Math.round(performance.now() - t0) / 1000 };
      log(`pool of ${sequentialClaims + 10} Ready in ${results["poolFill"] && (results["poolFill"] as { seconds: number }).seconds} s`);
      const seq: number[] = [];
      const before = await apiRequests(kube);
      for (let i = 0; i < sequentialClaims; i++) {
        const name = `seq-${i}`;
        const start = performance.now();
        await kube.create({ apiVersion: EXT, kind: "SandboxClaim", metadata: { name, namespace: seqNs }, spec: { warmPoolRef: { name: "pool" } } } as KubernetesObject);
        seq.push((await whenCached(claims, seqNs, name, isReady, 30_000)) - start);
      }
      const seqRequests = (await apiRequests(kube)) - before;
      results["warmClaimToReady"] = summarize(seq, "ms");
      results["warmClaimApiRequestsPerClaim"] = Math.round((seqRequests / sequentialClaims) * 10) / 10;
      log(`warm claim -> Ready: ${JSON.stringify(results["warmClaimToReady"])}`);

      // 2. A burst of concurrent claims against a pool of the same size.
      const burstNs = "bench-burst";
      await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: burstNs } } as KubernetesObject);
      for (const o of templateAndPool(burstNs, burstClaims)) await kube.create(o);
      await whenCached(pools, burstNs, "pool", (p) => p?.status?.readyReplicas === burstClaims, 600_000);
      const burstBefore = await apiRequests(kube);
      t0 = performance.now();
      const burst = await Promise.all(
        Array.from({ length: burstClaims }, async (_, i) => {
          const name = `burst-${i}`;
          const start = performance.now();
          await kube.create({ apiVersion: EXT, kind: "SandboxClaim", metadata: { name, namespace: burstNs }, spec: { warmPoolRef: { name: "pool" } } } as KubernetesObject);
          return (await whenCached(claims, burstNs, name, isReady, 300_000)) - start;
        }),
      );
      const burstWall = performance.now() - t0;
      const burstRequests = (await apiRequests(kube)) - burstBefore;
      const sandboxes = (await kube.list<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox" }, { namespace: burstNs })).items;
      const bound = new Set(claims.list(burstNs).map((c) => c.status?.sandbox?.name));
      const warm = sandboxes.filter((s) => s.metadata?.labels?.["agents.x-k8s.io/launch-type"] === "warm" && bound.has(s.metadata?.name)).length;
      results["burst"] = {
        claims: burstClaims,
        claimToReady: summarize(burst, "ms"),
        wallSeconds: Math.round(burstWall) / 1000,
        apiRequestsPerClaim: Math.round((burstRequests / burstClaims) * 10) / 10,
        distinctSandboxesBound: bound.size,
        warmAdoptions: warm,
        sandboxesInNamespace: sandboxes.length,
      };
      log(`burst: ${JSON.stringify(results["burst"])}`);

      // 3. Scale: many sandboxes reconciled to Ready, measured by the pool's own status.
      const scaleNs = "bench-scale";
      await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: scaleNs } } as KubernetesObject);
      const cpuBefore = operator.usage().cpuSeconds;
      t0 = performance.now();
      for (const o of templateAndPool(scaleNs, scaleSandboxes)) await kube.create(o);
      await whenCached(pools, scaleNs, "pool", (p) => p?.status?.readyReplicas === scaleSandboxes, 1_800_000);
      const scaleSeconds = (performance.now() - t0) / 1000;
      const created = (await kube.list<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox" }, { namespace: scaleNs })).items.length;
      const pods = (await kube.list<Obj>({ apiVersion: "v1", kind: "Pod" }, { namespace: scaleNs })).items.length;
      const usage = operator.usage();
      results["scale"] = {
        sandboxes: scaleSandboxes,
        secondsToAllReady: Math.round(scaleSeconds * 10) / 10,
        sandboxesReadyPerSecond: Math.round((scaleSandboxes / scaleSeconds) * 10) / 10,
        sandboxesCreated: created,
        podsCreated: pods,
        operatorCpuSeconds: Math.round((usage.cpuSeconds - cpuBefore) * 10) / 10,
      };
      results["operator"] = { ...usage, totalSandboxes: sequentialClaims + 10 + burstClaims + scaleSandboxes };
      log(`scale: ${JSON.stringify(results["scale"])}; operator ${JSON.stringify(usage)}`);
      return results;
    } finally {
      await claims.stop();
      await pools.stop();
      await operator.stop();
      await cp.stop();
    }
  },
};
