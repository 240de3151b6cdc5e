// Issue #5 scenario 5 on the kwok tier: thousands of sandboxes and a large warm pool reconciled
// to Ready, the operator's peak RSS and CPU while it holds them all, and how fast the pool
// refills after members are claimed or deleted. See bench/lib/kwok-env.ts for the tier.
//
// Counts shrink for quick runs: BENCH_SCALE_SANDBOXES (2000), BENCH_SCALE_POOL (500),
// BENCH_SCALE_REFILL (100). BENCH_SCALE_BUDGET_S (1500) bounds the whole run: a phase that
// has not finished when the budget runs out is reported as timed out with what it reached,
// and later phases are skipped.
import { latencyChart, lineChart } from "../lib/chart.js";
import {
  SANDBOX_API,
  claimManifest,
  counterSum,
  inBatches,
  isReady,
  loadAverage,
  operatorBuild,
  podTemplate,
  poolAtSpec,
  readyPoolMembers,
  sampler,
  startKwokEnv,
  templateAndPool,
  until,
  type KwokEnv,
} from "../lib/kwok-env.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const sandboxCount = Number(process.env["BENCH_SCALE_SANDBOXES"] ?? 2000);
const poolSize = Number(process.env["BENCH_SCALE_POOL"] ?? 500);
const refillCount = Number(process.env["BENCH_SCALE_REFILL"] ?? 100);
const budgetSeconds = Number(process.env["BENCH_SCALE_BUDGET_S"] ?? 1500);
/** Client-side creates in flight; enough to outpace the operator without a 2,000-request stampede. */
const CREATE_CONCURRENCY = 32;

for (const [name, value] of Object.entries({
  BENCH_SCALE_SANDBOXES: sandboxCount,
  BENCH_SCALE_POOL: poolSize,
  BENCH_SCALE_REFILL: refillCount,
  BENCH_SCALE_BUDGET_S: budgetSeconds,
})) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1, got "${process.env[name]}"`);
}
if (refillCount > poolSize) throw new Error(`BENCH_SCALE_REFILL (${refillCount}) must not exceed BENCH_SCALE_POOL (${poolSize})`);

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

type Phase = Record<string, unknown> & { timedOut?: string };

export const scenario: Scenario = {
  name: "scale",
  description:
    "kwok tier: 2,000 sandboxes and a 500-member pool to Ready; reconciles/s, operator peak RSS and CPU, pool refill time, pods created vs needed",
  async run(log, out) {
    const started = performance.now();
    const deadline = started + budgetSeconds * 1000;
    const remaining = (): number => Math.max(1, deadline - performance.now());
    const loadBefore = loadAverage();
    const build = operatorBuild();
    // Sandboxes, the pool, and each refill's new members.
    const env = await startKwokEnv(log, sandboxCount + poolSize + 2 * refillCount);
    const timelines: Array<{ label: string; points: Array<{ x: number; y: number }> }> = [];
    const rss = sampler(() => env.operator.usage().rssMB, 1000);
    const phases: Record<string, Phase> = {};
    const cpu = (): number => env.operator.usage().cpuSeconds;
    try {
      phases["sandboxes"] = await sandboxesPhase(env, log, remaining, timelines);
      if (!phases["sandboxes"].timedOut) phases["pool"] = await poolPhase(env, log, remaining, timelines);
      if (phases["pool"] && !phases["pool"].timedOut) phases["refillAfterClaims"] = await refillAfterClaims(env, log, remaining);
      if (phases["refillAfterClaims"] && !phases["refillAfterClaims"].timedOut)
        phases["refillAfterDeletes"] = await refillAfterDeletes(env, log, remaining);
      rss.stop();
      const usage = env.operator.usage();
      out.chart(
        lineChart({
          name: "ready",
          title: "Ready over time (kwok tier)",
          xLabel: "seconds since the phase's first create",
          yLabel: "Ready",
          interpolate: "step-after",
          series: timelines,
        }),
      );
      out.chart(
        lineChart({
          name: "operator-rss",
          title: "Operator resident memory over the whole run",
          xLabel: "seconds since the operator started its first phase",
          yLabel: "RSS (MB)",
          series: [{ label: "operator RSS", points: rss.samples.map((s) => ({ x: s.t, y: s.value })) }],
        }),
      );
      const ready = phases["sandboxes"]?.["readySamples"] as { sandbox: number[]; pod: number[]; podToSandbox: number[] } | undefined;
      if (ready && ready.sandbox.length > 0) {
        out.chart(
          latencyChart({
            name: "sandbox-ready",
            title: `${sandboxCount} Sandboxes created ${CREATE_CONCURRENCY} at a time: where the time goes`,
            series: [
              { label: "Sandbox create -> Sandbox Ready", samples: ready.sandbox },
              // Operator creates the pod, the scheduler binds it, kwok readies it.
              { label: "Sandbox create -> its Pod Ready", samples: ready.pod },
              // The operator notices and writes the Sandbox's status.
              { label: "Pod Ready -> Sandbox Ready", samples: ready.podToSandbox },
            ],
          }),
        );
      }
      delete phases["sandboxes"]?.["readySamples"];
      log(`operator: ${JSON.stringify(usage)}; cpu ${cpu()} s`);
      return {
        tier: "kwok: real etcd, kube-apiserver, KCM, scheduler; kwok fake nodes (no kubelet); compiled operator as its own process",
        counts: { sandboxes: sandboxCount, poolSize, refill: refillCount, budgetSeconds },
        ...phases,
        operator: {
          peakRssMB: usage.peakRssMB,
          rssAtEndMB: usage.rssMB,
          cpuSecondsTotal: round(usage.cpuSeconds, 2),
          objectsHeldAtEnd: {
            sandboxes: env.sandboxes.informer.list().length,
            pods: env.pods.informer.list().length,
            claims: env.claims.informer.list().length,
          },
        },
        operatorBuild: build,
        loadAverage: { before: loadBefore, after: loadAverage() },
        totalSeconds: round((performance.now() - started) / 1000),
      };
    } finally {
      rss.stop();
      await env.stop();
    }
  },
};

const sandboxReconciles = async (env: KwokEnv): Promise<number> =>
  counterSum(await env.operatorMetrics(), "controller_runtime_reconcile_total", { controller: "sandbox" });

/** A count of Ready objects sampled over time, kept as a chart series. */
function track(label: string, read: () => number, timelines: Array<{ label: string; points: Array<{ x: number; y: number }> }>) {
  const s = sampler(read, 500);
  return () => {
    s.stop();
    timelines.push({ label, points: s.samples.map((p) => ({ x: p.t, y: p.value })) });
  };
}

async function sandboxesPhase(
  env: KwokEnv,
  log: (m: string) => void,
  remaining: () => number,
  timelines: Parameters<typeof track>[2],
): Promise<Phase> {
  const ns = "bench-scale-sandboxes";
  await env.createNamespace(ns);
  const cpu0 = env.operator.usage().cpuSeconds;
  const reconciles0 = await sandboxReconciles(env);
  const names = Array.from({ length: sandboxCount }, (_, i) => `sb-${i}`);
  const done = track(`${sandboxCount} Sandboxes Ready`, () => env.sandboxes.list(ns).filter(isReady).length, timelines);
  const t0 = performance.now();
  const readySamples: number[] = [];
  const podReadySamples: number[] = [];
  const podToSandboxReady: number[] = [];
  const waits: Array<Promise<unknown>> = [];
  let timedOut: string | undefined;
  await inBatches(names, CREATE_CONCURRENCY, async (name) => {
    const start = performance.now();
    await env.kube.create({ apiVersion: SANDBOX_API, kind: "Sandbox", metadata: { name, namespace: ns }, spec: { podTemplate } });
    // The pod is named after its sandbox. Pod Ready (kwok, scheduler) vs Sandbox Ready (the
    // operator noticing and writing status) splits the latency between them.
    const podReady = env.pods.when(ns, name, isReady, remaining());
    waits.push(
      Promise.all([podReady, env.sandboxes.when(ns, name, isReady, remaining())]).then(([pod, sandbox]) => {
        readySamples.push(sandbox - start);
        podReadySamples.push(pod - start);
        podToSandboxReady.push(Math.max(0, sandbox - pod));
      }),
    );
  });
  const createdSeconds = (performance.now() - t0) / 1000;
  log(`sandboxes: ${sandboxCount} created in ${round(createdSeconds)} s`);
  await Promise.all(waits).catch((err: unknown) => (timedOut = String(err)));
  const seconds = (performance.now() - t0) / 1000;
  done();
  const ready = env.sandboxes.list(ns).filter(isReady).length;
  const figures: Phase = {
    sandboxes: sandboxCount,
    createSeconds: round(createdSeconds),
    secondsToAllReady: timedOut ? null : round(seconds),
    readyAtEnd: ready,
    sandboxesReadyPerSecond: round(ready / seconds),
    // The operator's own count of Sandbox reconciles (each create, pod and status event causes some).
    sandboxReconciles: (await sandboxReconciles(env)) - reconciles0,
    sandboxReconcilesPerSecond: round(((await sandboxReconciles(env)) - reconciles0) / seconds),
    createToReady: summarize(readySamples, "ms"),
    createToPodReady: summarize(podReadySamples, "ms"),
    podReadyToSandboxReady: summarize(podToSandboxReady, "ms"),
    podsCreated: env.pods.seen(ns),
    podsNeeded: sandboxCount,
    operatorCpuSeconds: round(env.operator.usage().cpuSeconds - cpu0, 2),
    operatorPeakRssMBSoFar: env.operator.usage().peakRssMB,
    readySamples: { sandbox: readySamples, pod: podReadySamples, podToSandbox: podToSandboxReady },
    ...(timedOut ? { timedOut } : {}),
  };
  log(`sandboxes: ${JSON.stringify({ ...figures, readySamples: undefined })}`);
  return figures;
}

async function poolPhase(
  env: KwokEnv,
  log: (m: string) => void,
  remaining: () => number,
  timelines: Parameters<typeof track>[2],
): Promise<Phase> {
  const ns = "bench-scale-pool";
  await env.createNamespace(ns);
  const cpu0 = env.operator.usage().cpuSeconds;
  const reconciles0 = await sandboxReconciles(env);
  const done = track(`pool of ${poolSize}: Ready members`, () => env.sandboxes.list(ns).filter(isReady).length, timelines);
  const t0 = performance.now();
  for (const o of templateAndPool(ns, poolSize)) await env.kube.create(o);
  let timedOut: string | undefined;
  await until(`pool of ${poolSize}`, poolAtSpec(env, ns, poolSize), remaining()).catch((err: unknown) => (timedOut = String(err)));
  const seconds = (performance.now() - t0) / 1000;
  done();
  const figures: Phase = {
    poolSize,
    secondsToReadyReplicas: timedOut ? null : round(seconds),
    readyReplicasAtEnd: env.pools.informer.get(ns, "pool")?.status?.readyReplicas ?? 0,
    membersReadyPerSecond: round(poolSize / seconds),
    sandboxReconciles: (await sandboxReconciles(env)) - reconciles0,
    sandboxesCreated: env.sandboxes.seen(ns),
    podsCreated: env.pods.seen(ns),
    needed: poolSize,
    operatorCpuSeconds: round(env.operator.usage().cpuSeconds - cpu0, 2),
    ...(timedOut ? { timedOut } : {}),
  };
  log(`pool: ${JSON.stringify(figures)}`);
  return figures;
}

/** Claims `refillCount` members at once; times claims Ready and the pool back to spec. */
async function refillAfterClaims(env: KwokEnv, log: (m: string) => void, remaining: () => number): Promise<Phase> {
  const ns = "bench-scale-pool";
  const pods0 = env.pods.seen(ns);
  const sandboxes0 = env.sandboxes.seen(ns);
  const cpu0 = env.operator.usage().cpuSeconds;
  const t0 = performance.now();
  let timedOut: string | undefined;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: refillCount }, async (_, i) => {
      const name = `claim-${i}`;
      const start = performance.now();
      await env.kube.create(claimManifest(ns, name));
      latencies.push((await env.claims.when(ns, name, isReady, remaining())) - start);
    }),
  ).catch((err: unknown) => (timedOut = String(err)));
  const claimsReadySeconds = (performance.now() - t0) / 1000;
  if (!timedOut) {
    await until(`pool of ${poolSize} refilled`, poolAtSpec(env, ns, poolSize), remaining()).catch(
      (err: unknown) => (timedOut = String(err)),
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  const figures: Phase = {
    claims: refillCount,
    claimToReady: summarize(latencies, "ms"),
    allClaimsReadySeconds: round(claimsReadySeconds, 2),
    poolBackToSpecSeconds: timedOut ? null : round(seconds, 2),
    sandboxesCreated: env.sandboxes.seen(ns) - sandboxes0,
    podsCreated: env.pods.seen(ns) - pods0,
    // Claims adopt warm members (no new pod); the pool replaces each with one new member.
    podsNeeded: refillCount,
    operatorCpuSeconds: round(env.operator.usage().cpuSeconds - cpu0, 2),
    ...(timedOut ? { timedOut } : {}),
  };
  log(`refill after claims: ${JSON.stringify(figures)}`);
  return figures;
}

/** Deletes `refillCount` unclaimed members; times the pool back to spec. */
async function refillAfterDeletes(env: KwokEnv, log: (m: string) => void, remaining: () => number): Promise<Phase> {
  const ns = "bench-scale-pool";
  const members = readyPoolMembers(env.sandboxes, ns).slice(0, refillCount);
  if (members.length < refillCount) return { timedOut: `only ${members.length} Ready unclaimed members to delete, wanted ${refillCount}` };
  const pods0 = env.pods.seen(ns);
  const sandboxes0 = env.sandboxes.seen(ns);
  const cpu0 = env.operator.usage().cpuSeconds;
  const gone = new Set(members.map((m) => m.metadata?.name));
  const t0 = performance.now();
  await inBatches(members, CREATE_CONCURRENCY, (m) =>
    env.kube.delete({ apiVersion: SANDBOX_API, kind: "Sandbox", namespace: ns, name: m.metadata!.name! }),
  );
  let timedOut: string | undefined;
  // Back to spec: as many Ready members as asked for, none of them one we deleted.
  const atSpec = poolAtSpec(env, ns, poolSize);
  await until(
    `pool of ${poolSize} refilled`,
    () => atSpec() && !readyPoolMembers(env.sandboxes, ns).some((s) => gone.has(s.metadata?.name)),
    remaining(),
  ).catch((err: unknown) => (timedOut = String(err)));
  const seconds = (performance.now() - t0) / 1000;
  const figures: Phase = {
    deleted: refillCount,
    poolBackToSpecSeconds: timedOut ? null : round(seconds, 2),
    sandboxesCreated: env.sandboxes.seen(ns) - sandboxes0,
    podsCreated: env.pods.seen(ns) - pods0,
    podsNeeded: refillCount,
    operatorCpuSeconds: round(env.operator.usage().cpuSeconds - cpu0, 2),
    ...(timedOut ? { timedOut } : {}),
  };
  log(`refill after deletes: ${JSON.stringify(figures)}`);
  return figures;
}
