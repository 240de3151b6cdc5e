// Cold start on the local cluster: a Sandbox with no pool (gVisor) -> Ready and -> first `1+1`
// through the router with the SDK, against a bare Pod with the very spec the operator rendered
// (copied from the pod of a prototype Sandbox: same images, runtimeClass gvisor, the execd
// sidecar and its probe) created directly -> Ready and -> first `1+1` straight to its execd.
// The ratio operator/bare is the operator's overhead. Runs alternate which goes first.
import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { SandboxClient } from "../../src/client/index.js";
import { getControllerOf } from "../../src/runtime/index.js";
import { latencyChart, barChart } from "../lib/chart.js";
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
  sleep,
} from "../lib/local-cluster.js";
import { bareSpecFrom } from "../lib/bare-pod.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const NS = "bench-cold-start";
const runs = Number(process.env["BENCH_COLD_RUNS"] ?? 10);
const budgetSeconds = Number(process.env["BENCH_LOCAL_BUDGET_S"] ?? 1800);
const EXEC_PORT = 8888;

/** `1+1` straight to a pod's execd (the host is the node; node-to-pod traffic is not filtered). */
async function directOnePlusOne(podIP: string, token: string, timeoutMs: number): Promise<{ retries: number }> {
  const deadline = performance.now() + timeoutMs;
  for (let retries = 0; ; retries++) {
    let res: Response;
    try {
      res = await fetch(`http://${podIP}:${EXEC_PORT}/v1/execute`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ code: "1+1", language: "python" }),
      });
    } catch (err) {
      // Not listening yet (cannot happen after Ready, but the probe and we may disagree).
      if (performance.now() > deadline) throw err;
      await sleep(2);
      continue;
    }
    const body = (await res.json()) as { results?: Array<{ mimeType: string; data: string }> };
    const answer = body.results?.find((r) => r.mimeType === "text/plain")?.data;
    if (res.ok && answer === "2") return { retries };
    throw new Error(`execd at ${podIP} answered HTTP ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

interface Run {
  index: number;
  first: boolean;
  /** Operator runs: the Sandbox's pod appearing, and that pod's Ready=True, as the watch saw them. */
  toPodCreatedMs?: number;
  toPodReadyMs?: number;
  toReadyMs: number;
  toFirstResultMs: number;
  retries: number;
}

export const scenario: Scenario = {
  name: "cold-start",
  description:
    "local cluster (gVisor): a Sandbox with no pool -> Ready / first 1+1 (router, SDK) vs a bare Pod of the same spec -> Ready / first 1+1 (direct)",
  async run(log, out) {
    if (!Number.isInteger(runs) || runs < 1)
      throw new Error(`BENCH_COLD_RUNS must be a whole number >= 1, got "${process.env["BENCH_COLD_RUNS"]}"`);
    const time = budget(budgetSeconds);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    log(`router ${cluster.routerUrl}; namespace ${NS}; ${runs} runs each, alternating which goes first`);
    await createNamespace(kube, NS);
    const sandboxes = new Watcher(kube, SANDBOX_API, "Sandbox", NS);
    const pods = new Watcher(kube, "v1", "Pod", NS);
    const operatorRuns: Run[] = [];
    const bareRuns: Run[] = [];
    const errors: string[] = [];
    try {
      await Promise.all([sandboxes.start(), pods.start()]);
      const token = await agentToken(kube, NS);
      const client = new SandboxClient({ routerUrl: cluster.routerUrl, token, namespace: NS });
      const bareToken = randomBytes(24).toString("hex");
      const sandboxManifest = (name: string): KubernetesObject =>
        ({
          apiVersion: SANDBOX_API,
          kind: "Sandbox",
          metadata: { name, namespace: NS },
          spec: { podTemplate: { spec: sandboxPodSpec(cluster.runtimeImage) } },
        }) as KubernetesObject;
      const removeSandbox = async (name: string): Promise<void> => {
        await kube
          .delete({ apiVersion: SANDBOX_API, kind: "Sandbox", namespace: NS, name }, { propagationPolicy: "Background" })
          .catch(() => undefined);
        // Wait for the pod to go too, so its teardown does not overlap the next start.
        await sandboxes.gone(NS, name, 120_000, `Sandbox ${name} to be deleted`);
        await pods.gone(NS, name, 120_000, `pod ${name} to be deleted`);
      };

      // A prototype Sandbox: its pod is the spec the bare pods copy.
      log("prototype Sandbox: reading the pod the operator renders");
      await kube.create(sandboxManifest("proto"));
      await sandboxes.until("proto", isReady, 300_000, "the prototype Sandbox to be Ready");
      const protoPod = pods.get(NS, "proto");
      if (!protoPod || getControllerOf(protoPod)?.name !== "proto")
        throw new Error("the prototype Sandbox is Ready but its pod proto is not in the cache");
      const bareSpec = bareSpecFrom(protoPod, "proto", bareToken);
      const containers = ((bareSpec["containers"] ?? []) as Array<{ name: string; image: string }>).map((c) => `${c.name}=${c.image}`);
      log(`bare pods copy: runtimeClassName=${String(bareSpec["runtimeClassName"])}, containers ${containers.join(", ")}`);
      await removeSandbox("proto");

      const operatorRun = async (i: number, first: boolean): Promise<void> => {
        const name = `op-${i}`;
        const podCreated = pods.until(name, () => true, 300_000, `pod ${name}`);
        const podReady = pods.until(name, (p) => isReady(p) && Boolean(p.status?.podIP), 300_000, `pod ${name} Ready`);
        // Awaited below; only reported if this run got that far.
        podCreated.catch(() => undefined);
        podReady.catch(() => undefined);
        const t0 = performance.now();
        await kube.create(sandboxManifest(name));
        const { at: tReady } = await sandboxes.until(name, isReady, 300_000, `Sandbox ${name} Ready`);
        const { retries } = await firstOnePlusOne(client.connect(name), 60_000);
        const tFirst = performance.now();
        operatorRuns.push({
          index: i,
          first,
          toPodCreatedMs: (await podCreated).at - t0,
          toPodReadyMs: (await podReady).at - t0,
          toReadyMs: tReady - t0,
          toFirstResultMs: tFirst - t0,
          retries,
        });
        await removeSandbox(name);
      };
      const bareRun = async (i: number, first: boolean): Promise<void> => {
        const name = `bare-${i}`;
        const t0 = performance.now();
        await kube.create({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace: NS, labels: { "app.kubernetes.io/name": "bench-bare-pod" } },
          spec: bareSpec,
        } as KubernetesObject);
        const { obj, at: tReady } = await pods.until(name, (p) => isReady(p) && Boolean(p.status?.podIP), 300_000, `pod ${name} Ready`);
        const { retries } = await directOnePlusOne(String(obj.status?.podIP), bareToken, 60_000);
        const tFirst = performance.now();
        bareRuns.push({ index: i, first, toReadyMs: tReady - t0, toFirstResultMs: tFirst - t0, retries });
        await kube.delete({ apiVersion: "v1", kind: "Pod", namespace: NS, name }).catch(() => undefined);
        await pods.gone(NS, name, 120_000, `pod ${name} to be deleted`);
      };

      for (let i = 0; i < runs; i++) {
        time.check(`run ${i}`);
        const order =
          i % 2 === 0
            ? ([
                ["operator", operatorRun],
                ["bare", bareRun],
              ] as const)
            : ([
                ["bare", bareRun],
                ["operator", operatorRun],
              ] as const);
        for (const [k, [label, fn]] of order.entries()) {
          try {
            await fn(i, k === 0);
          } catch (err) {
            const message = `run ${i} ${label}: ${err instanceof Error ? err.message : String(err)}`;
            log(`error: ${message}`);
            errors.push(message);
            if (errors.length >= 4) throw new Error(`4 runs failed; last: ${message}`, { cause: err });
          }
        }
        const op = operatorRuns.at(-1);
        const bare = bareRuns.at(-1);
        log(
          `run ${i + 1}/${runs}: operator Ready ${round1(op?.toReadyMs ?? NaN)} / first ${round1(op?.toFirstResultMs ?? NaN)} ms; bare Ready ${round1(bare?.toReadyMs ?? NaN)} / first ${round1(bare?.toFirstResultMs ?? NaN)} ms`,
        );
      }

      const opReady = summarize(
        operatorRuns.map((r) => r.toReadyMs),
        "ms",
      );
      const opFirst = summarize(
        operatorRuns.map((r) => r.toFirstResultMs),
        "ms",
      );
      const opPod = summarize(
        operatorRuns.map((r) => r.toPodCreatedMs ?? NaN),
        "ms",
      );
      // The operator's own share, free of the kubelet's 1 s readiness-probe quantisation: before
      // the pod exists, and from the pod's Ready to the Sandbox's.
      const opPodReadyToReady = summarize(
        operatorRuns.map((r) => r.toReadyMs - (r.toPodReadyMs ?? NaN)),
        "ms",
      );
      const opPodToPodReady = summarize(
        operatorRuns.map((r) => (r.toPodReadyMs ?? NaN) - (r.toPodCreatedMs ?? NaN)),
        "ms",
      );
      const bareReady = summarize(
        bareRuns.map((r) => r.toReadyMs),
        "ms",
      );
      const bareFirst = summarize(
        bareRuns.map((r) => r.toFirstResultMs),
        "ms",
      );
      const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
      const ratios = {
        toReadyP50: ratio(opReady.p50, bareReady.p50),
        toFirstResultP50: ratio(opFirst.p50, bareFirst.p50),
        toReadyMean: ratio(opReady.mean, bareReady.mean),
        toFirstResultMean: ratio(opFirst.mean, bareFirst.mean),
        /** (bare Ready p50 + the operator's own share at p50) / bare Ready p50: the overhead without probe-phase luck. */
        operatorShareOnBareP50: ratio(bareReady.p50 + opPod.p50 + opPodReadyToReady.p50, bareReady.p50),
      };
      const targets = {
        readyRatioLe1_1: { measured: ratios.toReadyP50, met: ratios.toReadyP50 <= 1.1 },
        firstResultRatioLe1_1: { measured: ratios.toFirstResultP50, met: ratios.toFirstResultP50 <= 1.1 },
      };
      printTable(log, LATENCY_HEADER, [
        latencyRow("Sandbox create -> pod created", opPod),
        latencyRow("Sandbox's pod created -> pod Ready", opPodToPodReady),
        latencyRow("Sandbox's pod Ready -> Sandbox Ready", opPodReadyToReady),
        latencyRow("Sandbox -> Ready", opReady),
        latencyRow("bare Pod -> Ready", bareReady),
        latencyRow("Sandbox -> first 1+1 (router)", opFirst),
        latencyRow("bare Pod -> first 1+1 (direct)", bareFirst),
      ]);
      log(
        `ratio operator/bare (p50): Ready ${ratios.toReadyP50}x (target <= 1.1x: ${targets.readyRatioLe1_1.met ? "met" : "NOT met"}), first result ${ratios.toFirstResultP50}x (${targets.firstResultRatioLe1_1.met ? "met" : "NOT met"}); mean ratio Ready ${ratios.toReadyMean}x; operator's own share (create -> pod + pod Ready -> Sandbox Ready, p50) on bare p50: ${ratios.operatorShareOnBareP50}x; errors ${errors.length}`,
      );

      if (operatorRuns.length > 0 && bareRuns.length > 0) {
        out.chart(
          latencyChart({
            name: "latency",
            title: `cold start under gVisor: operator Sandbox vs bare Pod (${runs} runs each)`,
            series: [
              { label: "Sandbox -> Ready", samples: operatorRuns.map((r) => r.toReadyMs) },
              { label: "bare Pod -> Ready", samples: bareRuns.map((r) => r.toReadyMs) },
              { label: "Sandbox -> first 1+1", samples: operatorRuns.map((r) => r.toFirstResultMs) },
              { label: "bare Pod -> first 1+1", samples: bareRuns.map((r) => r.toFirstResultMs) },
            ],
          }),
        );
        // p50 and mean side by side: with the 1 s probe period the p50 of 10 runs can sit on either tick.
        out.chart(
          barChart({
            name: "summary",
            title: "cold start (ms): operator Sandbox vs bare Pod, p50 and mean",
            yLabel: "ms",
            bars: [
              { label: "Ready p50", value: opReady.p50, group: "operator Sandbox" },
              { label: "Ready p50", value: bareReady.p50, group: "bare Pod" },
              { label: "Ready mean", value: opReady.mean, group: "operator Sandbox" },
              { label: "Ready mean", value: bareReady.mean, group: "bare Pod" },
              { label: "first 1+1 p50", value: opFirst.p50, group: "operator Sandbox" },
              { label: "first 1+1 p50", value: bareFirst.p50, group: "bare Pod" },
              { label: "first 1+1 mean", value: opFirst.mean, group: "operator Sandbox" },
              { label: "first 1+1 mean", value: bareFirst.mean, group: "bare Pod" },
            ],
          }),
        );
      }
      const opt = (v: number | undefined): number | undefined => (v === undefined ? undefined : round1(v));
      const raw = (rs: Run[]) =>
        rs.map((r) => ({
          ...r,
          toPodCreatedMs: opt(r.toPodCreatedMs),
          toPodReadyMs: opt(r.toPodReadyMs),
          toReadyMs: round1(r.toReadyMs),
          toFirstResultMs: round1(r.toFirstResultMs),
        }));
      return {
        method:
          "Sequential, one pod at a time (each run waits for the previous pod to be gone); runs alternate which of the two goes first. " +
          "Operator: t0 before the Sandbox create call; Ready = the watch event with the Sandbox's Ready=True; first result = the SDK (router mode) " +
          "answering 1+1, sent at Ready and retried at once on 404/503. Bare: a Pod with the spec the operator rendered for a prototype Sandbox " +
          "(nodeName, priority and hostname dropped, its execd given a fixed token of its own, no sandbox labels), Ready = the pod's Ready=True watch event, " +
          "first result = POST /v1/execute to podIP:8888 from the host, retried at once while refused. " +
          "Pod readiness comes from execd's readiness probe (period 1 s), so both kinds land near whole seconds after the containers start; " +
          "the operator's own share is therefore also given apart (create -> its pod appears, and the pod's Ready -> the Sandbox's Ready).",
        config: { runs, routerUrl: cluster.routerUrl, bareContainers: containers, runtimeClassName: bareSpec["runtimeClassName"] },
        counts: { operatorRuns: operatorRuns.length, bareRuns: bareRuns.length, errors: errors.length },
        operator: {
          toPodCreated: opPod,
          podCreatedToPodReady: opPodToPodReady,
          podReadyToSandboxReady: opPodReadyToReady,
          toReady: opReady,
          toFirstResult: opFirst,
        },
        bare: { toReady: bareReady, toFirstResult: bareFirst },
        ratios,
        targets,
        errors,
        samples: {
          operatorToReadyMs: operatorRuns.map((r) => round1(r.toReadyMs)),
          operatorToFirstResultMs: operatorRuns.map((r) => round1(r.toFirstResultMs)),
          bareToReadyMs: bareRuns.map((r) => round1(r.toReadyMs)),
          bareToFirstResultMs: bareRuns.map((r) => round1(r.toFirstResultMs)),
          operatorRuns: raw(operatorRuns),
          bareRuns: raw(bareRuns),
        },
        durationSeconds: time.elapsedSeconds(),
      };
    } finally {
      await Promise.all([sandboxes.stop(), pods.stop()]);
      log("deleting namespace");
      await deleteNamespace(kube, NS).catch((err: unknown) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
      log(`took ${time.elapsedSeconds()} s in all`);
    }
  },
};
