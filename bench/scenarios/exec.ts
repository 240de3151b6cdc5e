// Execution on the local cluster, one gVisor sandbox: `1+1` round trips on a warm context
// through the router with the SDK (sequential), throughput with 16 concurrent callers, a
// 100 MB file round trip through the router with the SDK's file API; and the same `1+1` and
// file round trip with the SDK's Kubernetes mode, which goes straight to the pod's execd (the
// host is the node; node-to-pod traffic is not filtered by the NetworkPolicy enforcer), so the
// router's cost shows as the difference. Same client code both ways, only the path differs.
import { createHash, randomBytes } from "node:crypto";
import os from "node:os";
import type { KubernetesObject } from "@kubernetes/client-node";
import { SandboxClient, type Sandbox } from "../../src/client/index.js";
import { barChart, latencyChart } from "../lib/chart.js";
import {
  LATENCY_HEADER,
  SANDBOX_API,
  Watcher,
  agentToken,
  budget,
  connectLocalCluster,
  createNamespace,
  deleteNamespace,
  firstOnePlusOne,
  isReady,
  latencyRow,
  printTable,
  round1,
  sandboxPodSpec,
} from "../lib/local-cluster.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize, type Summary } from "../lib/stats.js";

const NS = "bench-exec";
const SANDBOX = "exec";
const calls = Number(process.env["BENCH_EXEC_CALLS"] ?? 500);
const concurrency = Number(process.env["BENCH_EXEC_CONCURRENCY"] ?? 16);
const throughputSeconds = Number(process.env["BENCH_EXEC_SECONDS"] ?? 10);
const fileRuns = Number(process.env["BENCH_FILE_RUNS"] ?? 3);
const fileBytes = Number(process.env["BENCH_FILE_MB"] ?? 100) * 1024 * 1024;
const budgetSeconds = Number(process.env["BENCH_LOCAL_BUDGET_S"] ?? 1200);
const WARMUP = 30;
const MB = 1024 * 1024;

/** execd's own time on each measured call (its durationMs: queue, workspace snapshots, interpreter), by path. */
const execdMs: Record<"router" | "direct", number[]> = { router: [], direct: [] };

async function onePlusOne(sb: Sandbox, context?: string, execdInto?: number[]): Promise<number> {
  const started = performance.now();
  const r = await sb.run("1+1", context ? { context } : {});
  const elapsed = performance.now() - started;
  const answer = r.results.find((x) => x.mimeType === "text/plain")?.data;
  if (answer !== "2") throw new Error(`1+1 answered ${JSON.stringify(answer)}`);
  execdInto?.push(r.durationMs);
  return elapsed;
}

async function sequential(sb: Sandbox, n: number, execdInto: number[]): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await onePlusOne(sb);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await onePlusOne(sb, undefined, execdInto));
  return samples;
}

/**
 * `concurrency` callers, each calling `1+1` back to back for `throughputSeconds`; either all on
 * the default context (execd runs one call at a time per context, so they queue) or each on a
 * context of its own (separate interpreters, in parallel).
 */
async function throughput(
  sb: Sandbox,
  perCallerContext: boolean,
): Promise<{ requestsPerSecond: number; completed: number; errors: number; latency: Summary; samples: number[] }> {
  const contextOf = (c: number): string | undefined => (perCallerContext ? `bench-${c}` : undefined);
  // Create the contexts (interpreter start) and warm them before the clock starts.
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let i = 0; i < 3; i++) await onePlusOne(sb, contextOf(c));
    }),
  );
  const samples: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + throughputSeconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      while (performance.now() < end) {
        try {
          samples.push(await onePlusOne(sb, contextOf(c)));
        } catch {
          errors++;
        }
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: round1(samples.length / wall),
    completed: samples.length,
    errors,
    latency: summarize(samples, "ms"),
    samples,
  };
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** PUT then GET of `fileBytes` through the SDK's file API; MB/s = MiB moved one way / (PUT + GET seconds), as exec-local. */
async function fileRoundTrips(
  sb: Sandbox,
  data: Buffer,
): Promise<{
  medianRoundTripMBps: number;
  runs: Array<{ putMs: number; getMs: number; putMBps: number; getMBps: number; roundTripMBps: number }>;
}> {
  const digest = sha(data);
  const rate = (ms: number): number => round1(data.length / MB / (ms / 1000));
  const runs = [];
  for (let i = 0; i < fileRuns; i++) {
    let t = performance.now();
    await sb.files.write("bench.bin", data);
    const putMs = performance.now() - t;
    t = performance.now();
    const got = await sb.files.read("bench.bin");
    const getMs = performance.now() - t;
    if (got.length !== data.length || sha(got) !== digest)
      throw new Error(`the file came back different (${got.length} of ${data.length} bytes)`);
    await sb.files.remove("bench.bin");
    runs.push({
      putMs: Math.round(putMs),
      getMs: Math.round(getMs),
      putMBps: rate(putMs),
      getMBps: rate(getMs),
      roundTripMBps: rate(putMs + getMs),
    });
  }
  const sorted = runs.map((r) => r.roundTripMBps).sort((a, b) => a - b);
  return { medianRoundTripMBps: sorted[Math.floor(sorted.length / 2)]!, runs };
}

export const scenario: Scenario = {
  name: "exec",
  description: "local cluster (gVisor): 1+1 through the router (SDK) vs direct to execd, 16 concurrent callers, 100 MB file round trip",
  async run(log, out) {
    const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
    for (const [name, v] of [
      ["BENCH_EXEC_CALLS", calls],
      ["BENCH_EXEC_CONCURRENCY", concurrency],
      ["BENCH_FILE_RUNS", fileRuns],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a whole number >= 1, got "${process.env[name]}"`);
    }
    const time = budget(budgetSeconds);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    log(`router ${cluster.routerUrl}; namespace ${NS}`);
    await createNamespace(kube, NS);
    const sandboxes = new Watcher(kube, SANDBOX_API, "Sandbox", NS);
    try {
      await sandboxes.start();
      const token = await agentToken(kube, NS);
      await kube.create({
        apiVersion: SANDBOX_API,
        kind: "Sandbox",
        metadata: { name: SANDBOX, namespace: NS },
        spec: { podTemplate: { spec: sandboxPodSpec(cluster.runtimeImage) } },
      } as KubernetesObject);
      const { obj } = await sandboxes.until(SANDBOX, isReady, 300_000, `Sandbox ${SANDBOX} Ready`);
      log(`sandbox Ready at ${String(obj.status?.podIPs?.[0])}`);
      const viaRouter = new SandboxClient({ routerUrl: cluster.routerUrl, token, namespace: NS }).connect(SANDBOX);
      // Kubernetes mode: reads the execd token Secret (admin kubeconfig) and dials the pod IP.
      const direct = new SandboxClient({ kubeConfig: cluster.kc, namespace: NS }).connect(SANDBOX);
      await firstOnePlusOne(viaRouter, 60_000);
      await firstOnePlusOne(direct, 60_000);

      // Interleave the two paths in halves so drift in the machine's load hits both alike.
      log(`1+1 sequential x${calls} per path (after ${WARMUP} warm-up calls)`);
      const routerSamples: number[] = [];
      const directSamples: number[] = [];
      const first = Math.ceil(calls / 2);
      for (const [path, into, n, execdInto] of [
        [viaRouter, routerSamples, first, execdMs.router],
        [direct, directSamples, first, execdMs.direct],
        [direct, directSamples, calls - first, execdMs.direct],
        [viaRouter, routerSamples, calls - first, execdMs.router],
      ] as const) {
        time.check("1+1 round trips");
        if (n > 0) into.push(...(await sequential(path, n, execdInto)));
      }
      const routerLatency = summarize(routerSamples, "ms");
      const directLatency = summarize(directSamples, "ms");

      time.check("throughput");
      log(`${concurrency} concurrent callers for ${throughputSeconds} s on one shared context, then on a context each`);
      const shared = await throughput(viaRouter, false);
      const perCaller = await throughput(viaRouter, true);

      time.check("file round trips");
      log(`${fileBytes / MB} MiB PUT + GET x${fileRuns} through the router, then direct`);
      const data = randomBytes(fileBytes);
      const filesRouter = await fileRoundTrips(viaRouter, data);
      const filesDirect = await fileRoundTrips(direct, data);

      const targets = { p50RouterLe5ms: { measured: routerLatency.p50, met: routerLatency.p50 <= 5 } };
      printTable(log, LATENCY_HEADER, [
        latencyRow("1+1 through the router (SDK)", routerLatency, `p50<=5: ${targets.p50RouterLe5ms.met ? "met" : "NOT met"}`),
        latencyRow("1+1 direct to execd (SDK)", directLatency),
        latencyRow(`${concurrency} callers, shared context`, shared.latency, `${shared.requestsPerSecond} req/s`),
        latencyRow(`${concurrency} callers, context each`, perCaller.latency, `${perCaller.requestsPerSecond} req/s`),
      ]);
      log(
        `execd's own time on a call (durationMs) p50: router path ${summarize(execdMs.router, "ms").p50} ms, direct ${summarize(execdMs.direct, "ms").p50} ms`,
      );
      log(
        `router cost at p50: ${round1(routerLatency.p50 - directLatency.p50)} ms; ${fileBytes / MB} MiB round trip (median of ${fileRuns}): router ${filesRouter.medianRoundTripMBps} MB/s, direct ${filesDirect.medianRoundTripMBps} MB/s`,
      );

      out.chart(
        latencyChart({
          name: "latency",
          title: "1+1 on a warm context under gVisor: through the router vs direct to execd",
          series: [
            { label: "router (SDK)", samples: routerSamples },
            { label: "direct to execd (SDK)", samples: directSamples },
            { label: `${concurrency} callers, shared context`, samples: shared.samples },
            { label: `${concurrency} callers, context each`, samples: perCaller.samples },
          ],
          logScale: true,
        }),
      );
      out.chart(
        barChart({
          name: "file",
          title: `${fileBytes / MB} MiB PUT + GET round trip (MB/s, median of ${fileRuns})`,
          yLabel: "MB/s",
          bars: [
            { label: "through the router", value: filesRouter.medianRoundTripMBps },
            { label: "direct to execd", value: filesDirect.medianRoundTripMBps },
          ],
        }),
      );
      const strip = ({ samples: _samples, ...rest }: Awaited<ReturnType<typeof throughput>>) => rest;
      return {
        method:
          "One gVisor Sandbox (no pool). SDK router mode (ServiceAccount token) vs SDK Kubernetes mode (pod IP + the sandbox's execd token; " +
          "the host is the node). Latency = Sandbox.run('1+1') until its NDJSON answer is parsed, default python context, " +
          `${WARMUP} warm-up calls before each half; the two paths are interleaved in halves. Throughput: ${concurrency} callers back to back for ` +
          `${throughputSeconds} s. Files: SDK files.write (PUT) then files.read (GET), sha256 checked; MB/s = MiB / (PUT + GET seconds).`,
        config: { calls, concurrency, throughputSeconds, fileMiB: fileBytes / MB, fileRuns, routerUrl: cluster.routerUrl },
        onePlusOne: {
          router: routerLatency,
          direct: directLatency,
          routerCostP50Ms: round1(routerLatency.p50 - directLatency.p50),
          // Where a round trip goes: execd's time on the call (its durationMs) and the rest
          // (client, network, HTTP, and the router on that path).
          phases: {
            execdCallRouterPath: summarize(execdMs.router, "ms"),
            execdCallDirectPath: summarize(execdMs.direct, "ms"),
            outsideExecdP50Ms: {
              router: round1(routerLatency.p50 - summarize(execdMs.router, "ms").p50),
              direct: round1(directLatency.p50 - summarize(execdMs.direct, "ms").p50),
            },
          },
        },
        throughput: { sharedContext: strip(shared), contextPerCaller: strip(perCaller) },
        file: { router: filesRouter, direct: filesDirect },
        targets,
        errors: { throughputShared: shared.errors, throughputPerCaller: perCaller.errors },
        samples: {
          routerMs: routerSamples.map(round1),
          directMs: directSamples.map(round1),
          concurrentSharedMs: shared.samples.map(round1),
          concurrentPerCallerMs: perCaller.samples.map(round1),
        },
        durationSeconds: time.elapsedSeconds(),
        // The machine is shared: the load when the run began (machine.loadAverage is at its end).
        loadAverageAtStart: loadAtStart,
      };
    } finally {
      await sandboxes.stop();
      log("deleting namespace");
      await deleteNamespace(kube, NS).catch((err: unknown) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
      log(`took ${time.elapsedSeconds()} s in all`);
    }
  },
};
