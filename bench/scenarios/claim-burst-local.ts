// A small burst of real-pod claims on the local cluster: N SandboxClaims created at once
// against a Ready pool of N gVisor sandboxes -> each claim's Ready (watch) and first `1+1`
// through the router (SDK); every claim must get its own sandbox, warm. N defaults to 8 but is
// lowered to what the node's free CPU requests hold, counting the pool's refill (another N
// sandboxes at 110m each) that starts as soon as members are adopted; below 2 it is skipped.
import type { KubernetesObject } from "@kubernetes/client-node";
import { SandboxClient } from "../../src/client/index.js";
import { LabelKeys } from "../../src/api/labels.js";
import { latencyChart } from "../lib/chart.js";
import {
  EXT_API,
  LATENCY_HEADER,
  SANDBOX_API,
  Watcher,
  agentToken,
  budget,
  connectLocalCluster,
  createNamespace,
  deleteNamespace,
  firstOnePlusOne,
  freeCpuMillis,
  isReady,
  isReadyPoolMember,
  latencyRow,
  printTable,
  round1,
  sandboxPodSpec,
} from "../lib/local-cluster.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const NS = "bench-claim-burst";
const POOL = "pool";
const wanted = Number(process.env["BENCH_BURST_LOCAL"] ?? 8);
const budgetSeconds = Number(process.env["BENCH_LOCAL_BUDGET_S"] ?? 900);
/** main 10m + the execd sidecar's default 100m (see sandboxPodSpec). */
const SANDBOX_CPU_MILLIS = 110;

export const scenario: Scenario = {
  name: "claim-burst-local",
  description:
    "local cluster (gVisor): N concurrent claims (default 8) against a Ready pool of N -> Ready, first 1+1, distinct warm sandboxes",
  async run(log, out) {
    if (!Number.isInteger(wanted) || wanted < 1)
      throw new Error(`BENCH_BURST_LOCAL must be a whole number >= 1, got "${process.env["BENCH_BURST_LOCAL"]}"`);
    const time = budget(budgetSeconds);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    const cpu = await freeCpuMillis(kube);
    // Members plus their refill must fit, or refill pods would sit Pending and block other pods.
    const fits = Math.floor(cpu.free / (2 * SANDBOX_CPU_MILLIS));
    const size = Math.min(wanted, fits);
    const sizing = `node CPU: ${cpu.allocatable}m allocatable, ${cpu.requested}m requested, ${cpu.free}m free; ${wanted} wanted, ${fits} fit with their refill (2 x ${SANDBOX_CPU_MILLIS}m each)`;
    log(sizing);
    if (size < 2) {
      log("skipped: not enough free CPU requests on the node for a burst of 2");
      return { skipped: `not enough free CPU requests: ${sizing}`, durationSeconds: time.elapsedSeconds() };
    }
    log(`router ${cluster.routerUrl}; namespace ${NS}; burst of ${size} claims on a pool of ${size}`);
    await createNamespace(kube, NS);
    const claims = new Watcher(kube, EXT_API, "SandboxClaim", NS);
    const sandboxes = new Watcher(kube, SANDBOX_API, "Sandbox", NS);
    try {
      await Promise.all([claims.start(), sandboxes.start()]);
      const token = await agentToken(kube, NS);
      const client = new SandboxClient({ routerUrl: cluster.routerUrl, token, namespace: NS });
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxTemplate",
        metadata: { name: "python", namespace: NS },
        spec: { podTemplate: { spec: sandboxPodSpec(cluster.runtimeImage) } },
      } as KubernetesObject);
      const fillStart = performance.now();
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxWarmPool",
        metadata: { name: POOL, namespace: NS },
        spec: { replicas: size, sandboxTemplateRef: { name: "python" } },
      } as KubernetesObject);
      const members = (): number => sandboxes.list().filter(isReadyPoolMember(POOL)).length;
      await sandboxes.until(
        undefined,
        () => members() >= size,
        Math.min(600_000, time.remainingMs()),
        `${size} Ready members of pool ${POOL}`,
      );
      const poolFillSeconds = round1((performance.now() - fillStart) / 1000);
      log(`pool of ${size} Ready in ${poolFillSeconds} s; firing ${size} claims at once`);

      const errors: string[] = [];
      const burstStart = performance.now();
      const results = await Promise.all(
        Array.from({ length: size }, async (_, i) => {
          const name = `burst-${i}`;
          try {
            const t0 = performance.now();
            await kube.create({
              apiVersion: EXT_API,
              kind: "SandboxClaim",
              metadata: { name, namespace: NS },
              spec: { warmPoolRef: { name: POOL } },
            } as KubernetesObject);
            const { obj, at: tReady } = await claims.until(name, isReady, 120_000, `claim ${name} Ready`);
            const { retries } = await firstOnePlusOne(client.connect(name), 60_000);
            const tFirst = performance.now();
            return {
              claim: name,
              sandbox: obj.status?.sandbox?.name ?? "",
              toReadyMs: tReady - t0,
              toFirstResultMs: tFirst - t0,
              routerRetries: retries,
            };
          } catch (err) {
            errors.push(`claim ${name}: ${err instanceof Error ? err.message : String(err)}`);
            return undefined;
          }
        }),
      );
      const wallMs = performance.now() - burstStart;
      // Stop the refill now: it only competes for the node (and the adopted sandboxes stay).
      await kube.patch(
        { apiVersion: EXT_API, kind: "SandboxWarmPool", namespace: NS, name: POOL },
        { spec: { replicas: 0 } },
        { type: "merge" },
      );
      const done = results.filter((r): r is NonNullable<typeof r> => r !== undefined);
      const bound = new Set(done.map((r) => r.sandbox).filter(Boolean));
      const launchTypes = done.map(
        (r) => sandboxes.get(NS, r.sandbox)?.metadata?.labels?.[LabelKeys.LaunchType] ?? (r.sandbox === r.claim ? "cold" : "warm"),
      );
      const warm = launchTypes.filter((t) => t === "warm").length;
      const toReady = summarize(
        done.map((r) => r.toReadyMs),
        "ms",
      );
      const toFirst = summarize(
        done.map((r) => r.toFirstResultMs),
        "ms",
      );
      printTable(log, LATENCY_HEADER, [
        latencyRow("claim -> Ready (watch)", toReady),
        latencyRow("claim -> first 1+1 (SDK, router)", toFirst),
      ]);
      log(
        `all ${done.length} done in ${round1(wallMs)} ms; distinct sandboxes ${bound.size}; warm ${warm}, cold ${done.length - warm}; errors ${errors.length}`,
      );
      if (done.length > 0) {
        out.chart(
          latencyChart({
            name: "latency",
            title: `${size} concurrent claims on a Ready pool of ${size} (gVisor, local cluster)`,
            series: [
              { label: "claim -> Ready", samples: done.map((r) => r.toReadyMs) },
              { label: "claim -> first 1+1", samples: done.map((r) => r.toFirstResultMs) },
            ],
          }),
        );
      }
      return {
        method:
          `${size} SandboxClaims created concurrently (one create call each, t0 just before it) once the pool had ${size} Ready unclaimed members; ` +
          "Ready = the claim's Ready=True watch event; first result = the SDK (router mode) answering 1+1, retried at once on 404/503. " +
          "The pool is scaled to 0 after the burst so its refill does not linger.",
        sizing,
        config: { wanted, size, routerUrl: cluster.routerUrl },
        poolFillSeconds,
        counts: { claims: size, ready: done.length, distinctSandboxes: bound.size, warm, cold: done.length - warm, errors: errors.length },
        noClaimWithoutSandbox: done.length === size && bound.size === size,
        wallMs: round1(wallMs),
        toReady,
        toFirstResult: toFirst,
        errors,
        samples: {
          toReadyMs: done.map((r) => round1(r.toReadyMs)),
          toFirstResultMs: done.map((r) => round1(r.toFirstResultMs)),
          perClaim: done.map((r, i) => ({
            ...r,
            launchType: launchTypes[i],
            toReadyMs: round1(r.toReadyMs),
            toFirstResultMs: round1(r.toFirstResultMs),
          })),
        },
        durationSeconds: time.elapsedSeconds(),
      };
    } finally {
      await Promise.all([claims.stop(), sandboxes.stop()]);
      log("deleting namespace");
      await deleteNamespace(kube, NS).catch((err: unknown) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
      log(`took ${time.elapsedSeconds()} s in all`);
    }
  },
};
