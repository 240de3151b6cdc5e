// Wake on request on the local cluster (real kubelet, containerd, gVisor pods; the operator and
// router as Helm installed them). One claimed sandbox with a short idle timeout goes through
// cycles of: the operator suspends it for idleness (its pod gone), then a plain execute through
// the router wakes it. Measured per cycle: the execute's start -> its answer (the call is held
// while the sandbox resumes), and the operator's suspension lag past the timeout.
import type { KubernetesObject } from "@kubernetes/client-node";
import { AnnotationKeys } from "../../src/api/labels.js";
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
  isReady,
  latencyRow,
  printTable,
  round1,
  sandboxPodSpec,
} from "../lib/local-cluster.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const NS = "bench-wake";
const CLAIM = "sleeper";
const cycles = Number(process.env["BENCH_WAKE_CYCLES"] ?? 10);
const idleTimeoutS = Number(process.env["BENCH_WAKE_IDLE_S"] ?? 5);
const budgetSeconds = Number(process.env["BENCH_LOCAL_BUDGET_S"] ?? 1800);

interface Cycle {
  index: number;
  /** Last call's answer -> the Sandbox shown Suspended (the idle timeout plus the operator's lag). */
  suspendedAfterMs: number;
  /** Execute sent -> answered, the sandbox resumed meanwhile. */
  wakeToAnswerMs: number;
  resumedHeader: string | null;
  stateLost: boolean;
}

export const scenario: Scenario = {
  name: "wake",
  description: "local cluster (gVisor): a sandbox suspended for idleness, woken by a plain execute through the router -> answer",
  async run(log, out) {
    if (!Number.isInteger(cycles) || cycles < 1)
      throw new Error(`BENCH_WAKE_CYCLES must be a whole number >= 1, got "${process.env["BENCH_WAKE_CYCLES"]}"`);
    if (!Number.isInteger(idleTimeoutS) || idleTimeoutS < 1)
      throw new Error(`BENCH_WAKE_IDLE_S must be a whole number >= 1, got "${process.env["BENCH_WAKE_IDLE_S"]}"`);
    const time = budget(budgetSeconds);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    log(`router ${cluster.routerUrl}; namespace ${NS}; idle timeout ${idleTimeoutS} s; ${cycles} suspend/wake cycles`);
    await createNamespace(kube, NS);
    const claimWatch = new Watcher(kube, EXT_API, "SandboxClaim", NS);
    const sandboxWatch = new Watcher(kube, SANDBOX_API, "Sandbox", NS);
    const podWatch = new Watcher(kube, "v1", "Pod", NS);
    const samples: Cycle[] = [];
    try {
      await Promise.all([claimWatch.start(), sandboxWatch.start(), podWatch.start()]);
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxTemplate",
        metadata: { name: "python", namespace: NS, annotations: { [AnnotationKeys.IdleTimeout]: `${idleTimeoutS}s` } },
        spec: { podTemplate: { spec: sandboxPodSpec(cluster.runtimeImage) } },
      } as KubernetesObject);
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxWarmPool",
        metadata: { name: "pool", namespace: NS },
        spec: { replicas: 1, sandboxTemplateRef: { name: "python" } },
      } as KubernetesObject);
      const token = await agentToken(kube, NS);
      await sandboxWatch.until(undefined, (o) => isReady(o), 300_000, "a Ready pool member");
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxClaim",
        metadata: { name: CLAIM, namespace: NS },
        spec: { warmPoolRef: { name: "pool" } },
      } as KubernetesObject);
      const { obj: claim } = await claimWatch.until(CLAIM, isReady, 120_000, "claim Ready");
      const sandbox = claim.status?.sandbox?.name ?? "";
      if (!sandbox) throw new Error("the claim is Ready but names no sandbox");

      const execute = async (code: string): Promise<{ ms: number; resumed: string | null; stateLost: boolean }> => {
        const t0 = performance.now();
        const res = await fetch(`${cluster.routerUrl}/sandboxes/${NS}/${CLAIM}/v1/execute`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ code, language: "python" }),
          signal: AbortSignal.timeout(120_000),
        });
        const text = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`execute answered HTTP ${res.status}: ${text.slice(0, 300)}`);
        const body = JSON.parse(text) as { context?: { stateLost?: boolean } };
        return { ms, resumed: res.headers.get("x-sandbox-resumed"), stateLost: body.context?.stateLost === true };
      };
      await execute("1 + 1");
      let lastAnsweredAt = performance.now();

      for (let i = 0; i < cycles; i++) {
        time.check(`cycle ${i}`);
        const { at: suspendedAt } = await sandboxWatch.until(
          sandbox,
          (o) => (o.spec as { operatingMode?: string } | undefined)?.operatingMode === "Suspended",
          idleTimeoutS * 1000 + 120_000,
          `sandbox ${sandbox} suspended for idleness`,
        );
        await podWatch.gone(NS, sandbox, 120_000, `pod ${sandbox} gone`);
        const wake = await execute("1 + 1");
        const suspendedAfterMs = suspendedAt - lastAnsweredAt;
        lastAnsweredAt = performance.now();
        samples.push({
          index: i,
          suspendedAfterMs,
          wakeToAnswerMs: wake.ms,
          resumedHeader: wake.resumed,
          stateLost: wake.stateLost,
        });
        log(`cycle ${i + 1}/${cycles}: wake -> answer ${round1(wake.ms)} ms (resumed header ${wake.resumed ?? "none"})`);
      }

      const wakeSummary = summarize(
        samples.map((s) => s.wakeToAnswerMs),
        "ms",
      );
      const suspendedAfter = summarize(
        samples.map((s) => s.suspendedAfterMs),
        "ms",
      );
      const targets = { p50WakeColdLe3s: { measured: wakeSummary.p50, met: wakeSummary.p50 <= 3000 } };
      printTable(log, LATENCY_HEADER, [
        latencyRow(
          "suspended sandbox: execute -> answer (cold resume)",
          wakeSummary,
          `p50<=3000: ${targets.p50WakeColdLe3s.met ? "met" : "NOT met"}`,
        ),
        latencyRow(`last answer -> Suspended (idle timeout ${idleTimeoutS} s)`, suspendedAfter),
      ]);
      out.chart(
        latencyChart({
          name: "latency",
          title: `wake on request (gVisor), ${samples.length} suspend/wake cycles`,
          series: [{ label: "execute -> answer, sandbox suspended", samples: samples.map((s) => s.wakeToAnswerMs) }],
        }),
      );
      return {
        idleTimeoutSeconds: idleTimeoutS,
        wakeToAnswer: wakeSummary,
        lastAnswerToSuspended: suspendedAfter,
        targets,
        allAnsweredWithResumedHeader: samples.every((s) => s.resumedHeader === "true"),
        allToldStateLost: samples.every((s) => s.stateLost),
        samples,
      };
    } finally {
      await Promise.all([claimWatch.stop(), sandboxWatch.stop(), podWatch.stop()]);
      await deleteNamespace(kube, NS);
    }
  },
};
