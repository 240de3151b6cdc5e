// What a claim's env costs at claim time, on the local cluster (real kubelet, gVisor pods, the
// operator and router as Helm installed them): sequential warm claims, alternately without env
// and with env (a literal and a Secret key), each SandboxClaim create call -> its Ready=True seen
// by a watch. With env, the operator reads the Secret, hands both variables to the adopted
// sandbox's execution server and only then reports Ready; the difference of the two series is
// that work. Every claim is checked to be warm, and each env claim's variable is read back once.
import type { KubernetesObject } from "@kubernetes/client-node";
import { LabelKeys } from "../../src/api/labels.js";
import { SandboxClient } from "../../src/client/index.js";
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
  isReadyPoolMember,
  latencyRow,
  printTable,
  round1,
  sandboxPodSpec,
  sleep,
} from "../lib/local-cluster.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const NS = "bench-claim-env";
const POOL = "pool";
/** Claims of each kind (with and without env), alternating. */
const pairs = Number(process.env["BENCH_ENV_PAIRS"] ?? 20);
const poolSize = 2;
/** Pairs made first and not recorded (the bench process's JIT, connections, the first token). */
const warmupPairs = 1;
/** As warm-claim: the pool must have been full this long, so a member's boot does not compete. */
const settleMs = Number(process.env["BENCH_WARM_SETTLE_MS"] ?? 1000);
const budgetSeconds = Number(process.env["BENCH_LOCAL_BUDGET_S"] ?? 1800);
const SECRET_VALUE = "bench-secret-value";

interface Sample {
  claim: string;
  withEnv: boolean;
  launchType: string;
  toReadyMs: number;
}

export const scenario: Scenario = {
  name: "claim-env",
  description:
    "local cluster (gVisor): sequential warm claims alternately without and with env (literal + Secret) -> Ready, and the difference",
  async run(log, out) {
    if (!Number.isInteger(pairs) || pairs < 1)
      throw new Error(`BENCH_ENV_PAIRS must be a whole number >= 1, got "${process.env["BENCH_ENV_PAIRS"]}"`);
    const time = budget(budgetSeconds);
    const cluster = await connectLocalCluster();
    const { kube } = cluster;
    log(
      `namespace ${NS}; pool of ${poolSize}; ${pairs} pairs (+${warmupPairs} warm-up), the full pool and ${settleMs} ms before each claim`,
    );
    await createNamespace(kube, NS);
    const claimWatch = new Watcher(kube, EXT_API, "SandboxClaim", NS);
    const sandboxWatch = new Watcher(kube, SANDBOX_API, "Sandbox", NS);
    const podWatch = new Watcher(kube, "v1", "Pod", NS);
    const samples: Sample[] = [];
    const errors: string[] = [];
    try {
      await Promise.all([claimWatch.start(), sandboxWatch.start(), podWatch.start()]);
      await kube.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "bench", namespace: NS },
        data: { token: Buffer.from(SECRET_VALUE).toString("base64") },
      } as KubernetesObject);
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxTemplate",
        metadata: { name: "python", namespace: NS },
        spec: { envVarsInjectionPolicy: "Allowed", podTemplate: { spec: sandboxPodSpec(cluster.runtimeImage) } },
      } as KubernetesObject);
      await kube.create({
        apiVersion: EXT_API,
        kind: "SandboxWarmPool",
        metadata: { name: POOL, namespace: NS },
        spec: { replicas: poolSize, sandboxTemplateRef: { name: "python" } },
      } as KubernetesObject);
      const token = await agentToken(kube, NS);
      const client = new SandboxClient({ routerUrl: cluster.routerUrl, token, namespace: NS });
      const poolReady = () =>
        sandboxWatch.until(
          undefined,
          () => sandboxWatch.list().filter(isReadyPoolMember(POOL)).length >= poolSize,
          300_000,
          `${poolSize} Ready members of pool ${POOL}`,
        );
      await poolReady();
      log(`pool of ${poolSize} Ready`);

      let previousSandbox: string | undefined;
      for (let i = 0; i < 2 * (warmupPairs + pairs); i++) {
        time.check(`claim ${i}`);
        const withEnv = i % 2 === 1;
        if (previousSandbox) {
          await sandboxWatch.gone(NS, previousSandbox, 120_000, `Sandbox ${previousSandbox} gone`);
          await podWatch.gone(NS, previousSandbox, 120_000, `pod ${previousSandbox} gone`);
        }
        await poolReady();
        await sleep(settleMs);
        await poolReady();
        const name = `${withEnv ? "env" : "plain"}-${i}`;
        try {
          const t0 = performance.now();
          await kube.create({
            apiVersion: EXT_API,
            kind: "SandboxClaim",
            metadata: { name, namespace: NS },
            spec: {
              warmPoolRef: { name: POOL },
              ...(withEnv
                ? {
                    env: [
                      { name: "MODE", value: "bench" },
                      { name: "API_KEY", valueFrom: { secretKeyRef: { name: "bench", key: "token" } } },
                    ],
                  }
                : {}),
            },
          } as KubernetesObject);
          const { obj, at: tReady } = await claimWatch.until(name, isReady, 120_000, `claim ${name} Ready`);
          const sandbox = obj.status?.sandbox?.name ?? "";
          previousSandbox = sandbox || undefined;
          const launchType = sandboxWatch.get(NS, sandbox)?.metadata?.labels?.[LabelKeys.LaunchType] ?? "unknown";
          if (withEnv && i < 2 * warmupPairs + 2) {
            // Once: the variable really is there on the first call (not timed).
            const answer = await client.connect(name).run("import os\nprint(os.environ['API_KEY'])");
            if (answer.stdout.trim() !== SECRET_VALUE)
              throw new Error(`claim ${name}: API_KEY not delivered (got "${answer.stdout.trim()}")`);
          }
          if (i >= 2 * warmupPairs) samples.push({ claim: name, withEnv, launchType, toReadyMs: tReady - t0 });
          if ((i + 1) % 10 === 0)
            log(`${i + 1}/${2 * (warmupPairs + pairs)}: last ${name} -> Ready ${round1(tReady - t0)} ms (${launchType})`);
        } catch (err) {
          const message = `claim ${name}: ${err instanceof Error ? err.message : String(err)}`;
          log(`error: ${message}`);
          errors.push(message);
          if (errors.length >= 5) throw new Error(`5 claims failed; last: ${message}`, { cause: err });
        }
        await kube
          .delete({ apiVersion: EXT_API, kind: "SandboxClaim", namespace: NS, name }, { propagationPolicy: "Background" })
          .catch(() => undefined);
      }

      const warm = samples.filter((s) => s.launchType === "warm");
      const plain = summarize(
        warm.filter((s) => !s.withEnv).map((s) => s.toReadyMs),
        "ms",
      );
      const withEnv = summarize(
        warm.filter((s) => s.withEnv).map((s) => s.toReadyMs),
        "ms",
      );
      const difference = {
        p50: round1(withEnv.p50 - plain.p50),
        p90: round1(withEnv.p90 - plain.p90),
        p99: round1(withEnv.p99 - plain.p99),
      };
      printTable(log, LATENCY_HEADER, [
        latencyRow("claim -> Ready, no env", plain),
        latencyRow("claim -> Ready, env (literal + Secret)", withEnv),
      ]);
      log(`difference (env - no env): p50 ${difference.p50} ms, p90 ${difference.p90} ms, p99 ${difference.p99} ms; target p50 <= 10 ms`);
      log(`warm ${warm.length} of ${samples.length}; errors ${errors.length}`);
      out.chart(
        latencyChart({
          name: "latency",
          title: "Warm claims without and with env (gVisor, local cluster)",
          series: [
            { label: "no env", samples: warm.filter((s) => !s.withEnv).map((s) => s.toReadyMs) },
            { label: "env (literal + Secret)", samples: warm.filter((s) => s.withEnv).map((s) => s.toReadyMs) },
          ],
        }),
      );
      return {
        method:
          `Sequential SandboxClaims on a warm pool of ${poolSize}, alternately without env and with env (one literal, one Secret key); ` +
          `before each, the previous claim's Sandbox and pod gone, the pool full, then ${settleMs} ms. ` +
          "t0 just before the create call; Ready = the claim's Ready=True watch event. Only warm claims are counted. " +
          "The first env claim after the warm-up reads API_KEY back through the router (not timed).",
        config: { pairs, warmupPairs, poolSize, settleMs },
        counts: { samples: samples.length, warm: warm.length, errors: errors.length },
        toReadyNoEnv: plain,
        toReadyWithEnv: withEnv,
        differenceMs: difference,
        errors,
        samples: samples.map((s) => ({ ...s, toReadyMs: round1(s.toReadyMs) })),
        durationSeconds: time.elapsedSeconds(),
      };
    } finally {
      await Promise.all([claimWatch.stop(), sandboxWatch.stop(), podWatch.stop()]);
      log("deleting namespace");
      await deleteNamespace(kube, NS).catch((err: unknown) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
      log(`took ${time.elapsedSeconds()} s in all`);
    }
  },
};
