// Issue #5 scenario 2 on the kwok tier: a burst of concurrent claims against a warm pool of the
// same size, all to Ready; plus 100 sequential warm claims as the control-plane-only figure
// (the full warm-claim scenario, with kubelet, gVisor and the router, runs on the local
// cluster). See bench/lib/kwok-env.ts for what "kwok tier" means for these figures.
import { barChart, latencyChart, lineChart } from "../lib/chart.js";
import {
  apiRequestCounts,
  claimManifest,
  counterSum,
  isReady,
  loadAverage,
  operatorBuild,
  poolAtSpec,
  requestDelta,
  sampler,
  startKwokEnv,
  templateAndPool,
  until,
  type KwokEnv,
} from "../lib/kwok-env.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const burstClaims = Number(process.env["BENCH_BURST_CLAIMS"] ?? 200);
const sequentialClaims = Number(process.env["BENCH_SEQ_CLAIMS"] ?? 100);
const LAUNCH_TYPE = "agents.x-k8s.io/launch-type";

async function waitPoolReady(env: KwokEnv, ns: string, replicas: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await until(`pool in ${ns} at ${replicas} Ready members`, poolAtSpec(env, ns, replicas), timeoutMs);
  return Math.round(performance.now() - t0) / 1000;
}

/** 100 claims one after another, each against a pool with a Ready member waiting. */
async function sequential(env: KwokEnv, log: (m: string) => void) {
  const ns = "bench-seq";
  await env.createNamespace(ns);
  // Ten spare members so the pool's refill never has to keep up for a claim to find one.
  const replicas = sequentialClaims + 10;
  for (const o of templateAndPool(ns, replicas)) await env.kube.create(o);
  const fillSeconds = await waitPoolReady(env, ns, replicas, 600_000);
  log(`sequential: pool of ${replicas} Ready in ${fillSeconds} s`);
  const samples: number[] = [];
  const before = await apiRequestCounts(env.kube);
  for (let i = 0; i < sequentialClaims; i++) {
    const name = `seq-${i}`;
    const start = performance.now();
    await env.kube.create(claimManifest(ns, name));
    samples.push((await env.claims.when(ns, name, isReady, 60_000)) - start);
  }
  const requests = requestDelta(before, await apiRequestCounts(env.kube), sequentialClaims);
  const summary = summarize(samples, "ms");
  log(`sequential: claim -> Ready ${JSON.stringify(summary)}`);
  return {
    samples,
    figures: {
      claims: sequentialClaims,
      poolMembers: replicas,
      poolFillSeconds: fillSeconds,
      claimToReady: summary,
      apiRequestsPerClaim: requests.perUnit,
      apiRequests: requests,
    },
  };
}

/** The operator's own reconcile counts, by controller. */
async function reconciles(env: KwokEnv): Promise<Record<string, number>> {
  const metrics = await env.operatorMetrics();
  return Object.fromEntries(
    ["sandboxclaim", "sandbox", "sandboxwarmpool"].map((c) => [
      c,
      counterSum(metrics, "controller_runtime_reconcile_total", { controller: c }),
    ]),
  );
}

async function burst(env: KwokEnv, log: (m: string) => void) {
  const ns = "bench-burst";
  await env.createNamespace(ns);
  for (const o of templateAndPool(ns, burstClaims)) await env.kube.create(o);
  const fillSeconds = await waitPoolReady(env, ns, burstClaims, 600_000);
  log(`burst: pool of ${burstClaims} Ready in ${fillSeconds} s; ${burstClaims} claims at once`);
  const before = await apiRequestCounts(env.kube);
  const reconciles0 = await reconciles(env);
  const timeline = sampler(() => ({
    claimsReady: env.claims.list(ns).filter(isReady).length,
    poolReady: env.pools.informer.get(ns, "pool")?.status?.readyReplicas ?? 0,
  }));
  const t0 = performance.now();
  const errors: string[] = [];
  const latencies = await Promise.all(
    Array.from({ length: burstClaims }, async (_, i) => {
      const name = `burst-${i}`;
      const start = performance.now();
      try {
        await env.kube.create(claimManifest(ns, name));
        return (await env.claims.when(ns, name, isReady, 300_000)) - start;
      } catch (err) {
        errors.push(`${name}: ${String(err)}`);
        return undefined;
      }
    }),
  );
  const allReadySeconds = (performance.now() - t0) / 1000;
  const duringBurst = requestDelta(before, await apiRequestCounts(env.kube), burstClaims);
  // Over-creation shows once the pool has refilled: then exactly claims + replicas are needed.
  const refillSeconds = await waitPoolReady(env, ns, burstClaims, 600_000).then(() => (performance.now() - t0) / 1000);
  timeline.stop();
  const withRefill = requestDelta(before, await apiRequestCounts(env.kube), burstClaims);
  const reconciles1 = await reconciles(env);
  const operatorReconciles = Object.fromEntries(Object.entries(reconciles1).map(([c, n]) => [c, n - (reconciles0[c] ?? 0)]));

  const claims = env.claims.list(ns);
  const sandboxes = env.sandboxes.list(ns);
  const byName = new Map(sandboxes.map((s) => [s.metadata?.name, s]));
  const bound = claims.map((c) => c.status?.sandbox?.name).filter((n): n is string => !!n);
  const ownedByItsClaim = claims.filter((c) => {
    const s = byName.get(c.status?.sandbox?.name);
    return s?.metadata?.ownerReferences?.some((r) => r.controller && r.uid === c.metadata?.uid) ?? false;
  }).length;
  const launch = (type: string) => bound.filter((n) => byName.get(n)?.metadata?.labels?.[LAUNCH_TYPE] === type).length;
  const needed = burstClaims + burstClaims;
  // The namespace is fresh: every UID seen there since the pool was created counts.
  const created = { sandboxes: env.sandboxes.seen(ns), pods: env.pods.seen(ns) };
  const samples = latencies.filter((v): v is number => v !== undefined);
  const figures = {
    claims: burstClaims,
    poolMembers: burstClaims,
    poolFillSeconds: fillSeconds,
    claimToReady: summarize(samples, "ms"),
    allReadySeconds: Math.round(allReadySeconds * 100) / 100,
    poolBackToSpecSeconds: Math.round(refillSeconds * 100) / 100,
    errors,
    // Every claim bound, each to a distinct sandbox that it controls.
    claimsWithoutSandbox: burstClaims - bound.length,
    distinctSandboxesBound: new Set(bound).size,
    boundSandboxesControlledByTheirClaim: ownedByItsClaim,
    warmAdoptions: launch("warm"),
    coldStarts: launch("cold"),
    // Needed: the claims' sandboxes plus the refilled pool. Created counts every UID seen in the
    // namespace (the first fill included), also any that were created and deleted again.
    sandboxes: { needed, created: created.sandboxes, existingAtEnd: sandboxes.length, overCreated: created.sandboxes - needed },
    pods: { needed, created: created.pods, overCreated: created.pods - needed },
    operatorReconcilesIncludingPoolRefill: operatorReconciles,
    apiRequestsPerClaim: { untilAllClaimsReady: duringBurst.perUnit, includingPoolRefill: withRefill.perUnit },
    apiRequestsUntilAllClaimsReady: duringBurst,
    apiRequestsIncludingPoolRefill: withRefill,
  };
  log(`burst: ${JSON.stringify({ ...figures, apiRequestsUntilAllClaimsReady: undefined, apiRequestsIncludingPoolRefill: undefined })}`);
  return { samples, timeline: timeline.samples, figures };
}

export const scenario: Scenario = {
  name: "claim-burst",
  description:
    "kwok tier: 200 concurrent claims on a 200-member warm pool (latency, API requests per claim, over-creation); 100 sequential warm claims",
  async run(log, out) {
    const started = performance.now();
    const loadBefore = loadAverage();
    const build = operatorBuild();
    // Sequential pool + spares, burst pool, the burst's claims and the burst pool's refill.
    const env = await startKwokEnv(log, sequentialClaims + 10 + sequentialClaims + burstClaims * 2);
    try {
      const seq = await sequential(env, log);
      const b = await burst(env, log);
      const usage = env.operator.usage();
      out.chart(
        latencyChart({
          name: "latency",
          title: "SandboxClaim create -> Ready (kwok tier: control plane and operator only)",
          series: [
            { label: `${sequentialClaims} sequential warm claims`, samples: seq.samples },
            { label: `${burstClaims} concurrent claims, pool of ${burstClaims}`, samples: b.samples },
          ],
          logScale: true,
        }),
      );
      out.chart(
        lineChart({
          name: "timeline",
          title: `Burst of ${burstClaims} claims: claims Ready and pool Ready members over time`,
          xLabel: "seconds since the first claim was sent",
          yLabel: "count",
          interpolate: "step-after",
          series: [
            { label: "claims Ready", points: b.timeline.map((s) => ({ x: s.t, y: s.value.claimsReady })) },
            { label: "pool Ready members (refill)", points: b.timeline.map((s) => ({ x: s.t, y: s.value.poolReady })) },
          ],
        }),
      );
      out.chart(
        barChart({
          name: "created",
          title: "Burst: objects created vs needed (claims + refilled pool)",
          yLabel: "objects",
          bars: [
            { label: "Sandboxes", group: "needed", value: b.figures.sandboxes.needed },
            { label: "Sandboxes", group: "created", value: b.figures.sandboxes.created },
            { label: "Pods", group: "needed", value: b.figures.pods.needed },
            { label: "Pods", group: "created", value: b.figures.pods.created },
          ],
        }),
      );
      return {
        tier: "kwok: real etcd, kube-apiserver, KCM, scheduler; kwok fake nodes (no kubelet); compiled operator as its own process",
        method:
          "latency = client's create call until the client's watch sees Ready=True on the claim; API requests = apiserver_request_total " +
          "deltas (all clients: operator, kwok, scheduler, KCM, this benchmark's creates; WATCH and Lease requests left out)",
        sequentialWarmClaims: seq.figures,
        burst: b.figures,
        operator: usage,
        operatorBuild: build,
        loadAverage: { before: loadBefore, after: loadAverage() },
        totalSeconds: Math.round(performance.now() - started) / 1000,
      };
    } finally {
      await env.stop();
    }
  },
};
