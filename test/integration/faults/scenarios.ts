// Fault scenarios, each a bounded run against a real control plane with the compiled operator as
// separate processes, ending with the invariants checked once the system settles. The
// integration tests run each once with small numbers; `npm run soak` runs them in rounds with
// larger ones and writes what they report to bench/results/soak.json.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { Kube } from "../../../src/runtime/index.js";
import type { ControlPlane } from "../harness/control-plane.js";
import { FAKE_NODE_TOLERATION } from "../harness/cluster.js";
import { settleAndCheck, type SettledReport, type Violation } from "./invariants.js";
import { OperatorFleet, seededRandom, type LeaseTimings } from "./operator-fleet.js";
import { PoolLedger } from "./pool-ledger.js";
import { ensureRuntimeClass, retrying, scanLogs, Workload, type LogFindings } from "./workload.js";

export interface FaultEnv {
  kube: Kube;
  kubeconfig: string;
  /** Operator logs go under here, one file per replica. */
  logDir: string;
  log?: (msg: string) => void;
  /** Bound on waiting for the system to settle before the invariants are judged. */
  settleTimeoutMs?: number;
}

export interface FaultResult {
  scenario: string;
  seed: number;
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  /** The invariants held after the system settled. */
  survived: boolean;
  invariants: SettledReport;
  logs: LogFindings;
  durationMs: number;
  /** Scenario-specific measurements (takeover times, follower reconciles, ...). */
  detail: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freshNamespace(kube: Kube, prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString("hex")}`;
  await retrying(`create namespace ${ns}`, () =>
    kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "agent-sandbox-ts/test": "true" } } }),
  );
  return ns;
}

/** Deletes the namespace without waiting (the garbage collector and namespace controller finish). */
export async function dropNamespace(kube: Kube, ns: string): Promise<void> {
  await kube.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => undefined);
}

/** Runs a scenario body; on failure its operators and watch are stopped before the error goes on. */
async function guarded<T>(fleet: OperatorFleet, ledger: PoolLedger | undefined, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    await fleet.close().catch(() => undefined);
    await ledger?.stop().catch(() => undefined);
    throw err;
  }
}

function logFiles(fleet: OperatorFleet, dir: string): string[] {
  return [...fleet.replicas.keys()].map((id) => join(dir, `operator-${id}.log`));
}

async function finish(
  env: FaultEnv,
  scenario: string,
  seed: number,
  ns: string,
  started: number,
  fleet: OperatorFleet,
  ledger: PoolLedger | undefined,
  faults: Record<string, number>,
  detail: Record<string, unknown>,
  logDir: string,
): Promise<FaultResult> {
  const invariants = await settleAndCheck(env.kube, ns, { timeoutMs: env.settleTimeoutMs ?? 90_000, ...(ledger ? { ledger } : {}) });
  await fleet.close();
  await ledger?.stop();
  const logs = scanLogs(logFiles(fleet, logDir));
  env.log?.(
    `${scenario}: ${invariants.violations.length} violations after ${invariants.checks} checks (settled in ${invariants.settleMs} ms)`,
  );
  return {
    scenario,
    seed,
    faults,
    survived: invariants.settled && invariants.violations.length === 0,
    invariants,
    logs,
    durationMs: Date.now() - started,
    detail: { namespace: ns, ...detail },
  };
}

export interface KillChaosOptions {
  seed: number;
  kills: number;
  claims: number;
  /** Kill interval range (ms). */
  minGapMs?: number;
  maxGapMs?: number;
}

/**
 * SIGKILL the (single, no Lease) operator at seeded random intervals while claims arrive in a
 * burst, pools scale up and down, claims are deleted and pool members are deleted by hand.
 */
export async function operatorKillChaos(env: FaultEnv, o: KillChaosOptions): Promise<FaultResult> {
  const started = Date.now();
  const rand = seededRandom(o.seed);
  const ns = await freshNamespace(env.kube, "fault-kill");
  const logDir = join(env.logDir, ns);
  const ledger = new PoolLedger(env.kube, ns);
  await ledger.start();
  const w = new Workload(env.kube, ns, ledger);
  await w.setup({ alpha: 3, beta: 2 });
  const fleet = new OperatorFleet({ kubeconfig: env.kubeconfig, namespace: ns, logDir, leaderElect: false });
  return guarded(fleet, ledger, async () => {
    await fleet.start("solo");

    let kills = 0;
    const killer = (async () => {
      for (let i = 0; i < o.kills; i++) {
        await sleep((o.minGapMs ?? 500) + rand() * ((o.maxGapMs ?? 3_000) - (o.minGapMs ?? 500)));
        await fleet.kill("solo", true);
        kills++;
      }
    })();
    const driver = (async () => {
      const names = Array.from({ length: o.claims }, (_, i) => `c-${i}`);
      const half = Math.ceil(names.length / 2);
      await Promise.all([
        w.createClaims(
          names.slice(0, half).filter((_, i) => i % 2 === 0),
          "alpha",
        ),
        w.createClaims(
          names.slice(0, half).filter((_, i) => i % 2 === 1),
          "beta",
        ),
      ]);
      await w.scale("alpha", 6);
      await w.scale("beta", 0);
      await sleep(rand() * 1_000);
      await w.createClaims(names.slice(half), "alpha");
      await w.deleteClaim(names[0] ?? "c-0");
      await w.deleteMember("alpha", rand);
      await w.scale("alpha", 2);
      await w.scale("beta", 3);
      await sleep(rand() * 1_000);
      await w.scale("alpha", 4);
    })();
    await Promise.all([killer, driver]);
    return finish(
      env,
      "operator-sigkill",
      o.seed,
      ns,
      started,
      fleet,
      ledger,
      { operatorSigkill: kills, poolScale: w.ops.scales, claimDelete: w.ops.claimsDeleted, memberDelete: w.ops.membersDeleted },
      { ops: w.ops, unexpectedOperatorExits: fleet.unexpectedExits },
      logDir,
    );
  });
}

export interface FailoverOptions {
  seed: number;
  /** Each round either pauses (SIGSTOP) or kills (SIGKILL) the Lease holder, alternating. */
  rounds: number;
  timings: LeaseTimings;
}

export interface TakeoverSample {
  how: "sigstop" | "sigkill";
  from: string;
  to: string;
  /** From the fault to the other replica holding the Lease. */
  takeoverMs: number;
  /** A claim created right after the fault was bound before the takeover (must be false). */
  progressBeforeTakeover: boolean;
  /** Reconciles the follower had run before it took over (must be 0). */
  followerReconcilesBefore: number;
}

/**
 * Two replicas with a Lease. Per round: the follower has run no reconcile; the holder is paused
 * (SIGSTOP) or killed (SIGKILL); a claim made meanwhile stays unbound until the other replica
 * holds the Lease, then binds. The paused one is continued (it must notice it lost the Lease and
 * stand down); a killed one is started again as the new follower.
 */
export async function leaderFailover(env: FaultEnv, o: FailoverOptions): Promise<FaultResult> {
  const started = Date.now();
  const ns = await freshNamespace(env.kube, "fault-leader");
  const logDir = join(env.logDir, ns);
  const ledger = new PoolLedger(env.kube, ns);
  await ledger.start();
  const w = new Workload(env.kube, ns, ledger);
  await w.setup({ pool: 2 });
  const fleet = new OperatorFleet({ kubeconfig: env.kubeconfig, namespace: ns, logDir, leaderElect: true, timings: o.timings });
  return guarded(fleet, ledger, async () => {
    await fleet.start("a");
    await retrying(
      "replica a leads",
      async () => ((await fleet.holder(env.kube)) === "a" ? true : Promise.reject(new Error("not yet"))),
      undefined,
      60_000,
    );
    await fleet.start("b");
    // The follower is up (serves /metrics) before we judge it.
    await retrying("replica b serves /metrics", () => fleet.reconciles("b"), undefined, 30_000);
    await w.createClaims(["warmup-0", "warmup-1"], "pool");

    const samples: TakeoverSample[] = [];
    const faults = { leaderSigstop: 0, leaderSigkill: 0 };
    for (let round = 0; round < o.rounds; round++) {
      const leader = await retrying(
        "a holder",
        async () => (await fleet.holder(env.kube)) ?? Promise.reject(new Error("no holder")),
        undefined,
        60_000,
      );
      const follower = leader === "a" ? "b" : "a";
      // Let the leader do some work first, so "the follower ran nothing" is not vacuous.
      await w.createClaims([`r${round}-pre`], "pool");
      await retrying(
        `claim r${round}-pre bound`,
        async () => ((await claimBound(env.kube, ns, `r${round}-pre`)) ? true : Promise.reject(new Error("unbound"))),
        undefined,
        60_000,
      );
      const followerReconcilesBefore = await fleet.reconciles(follower);
      const how = round % 2 === 0 ? "sigstop" : "sigkill";
      const t0 = Date.now();
      if (how === "sigstop") {
        fleet.pause(leader);
        faults.leaderSigstop++;
      } else {
        await fleet.kill(leader, false);
        faults.leaderSigkill++;
      }
      const probe = `r${round}-during`;
      await w.createClaims([probe], "pool");
      let progressBeforeTakeover = false;
      let takeoverMs = -1;
      const deadline = Date.now() + o.timings.leaseDurationMs * 4 + 30_000;
      while (Date.now() < deadline) {
        // The claim first, then the holder: a claim found bound while the holder read after it is
        // still the stopped one was bound without a takeover (a new holder could not have done it).
        const bound = await claimBound(env.kube, ns, probe).catch(() => false);
        const holder = await fleet.holder(env.kube).catch(() => undefined);
        if (holder === follower) {
          takeoverMs = Date.now() - t0;
          break;
        }
        if (bound) progressBeforeTakeover = true;
        await sleep(50);
      }
      if (takeoverMs < 0) throw new Error(`round ${round}: ${follower} did not take the Lease over from ${leader}`);
      samples.push({ how, from: leader, to: follower, takeoverMs, progressBeforeTakeover, followerReconcilesBefore });
      env.log?.(
        `leader round ${round}: ${how} ${leader} -> ${follower} in ${takeoverMs} ms (progress before takeover: ${progressBeforeTakeover}, follower reconciles before: ${followerReconcilesBefore})`,
      );
      await retrying(
        `claim ${probe} bound after takeover`,
        async () => ((await claimBound(env.kube, ns, probe)) ? true : Promise.reject(new Error("unbound"))),
        undefined,
        60_000,
      );
      const generation = fleet.get(leader).generation;
      if (how === "sigstop") {
        // Continued, it finds the Lease gone and exits; the supervisor starts it again as follower.
        fleet.resume(leader);
      } else {
        await fleet.start(leader);
      }
      // A new process (not the continued one, whose counters are its old leader's) serving /metrics.
      await retrying(
        `replica ${leader} back as follower`,
        async () =>
          fleet.get(leader).generation > generation ? fleet.reconciles(leader) : Promise.reject(new Error("old process still running")),
        undefined,
        30_000,
      );
    }
    // Expiry is judged from when the follower saw the last renewal, and it looks every retryPeriod
    // with up to 120% jitter: up to one period late to see the renewal, one more to see the expiry.
    const bound = o.timings.leaseDurationMs + 2 * o.timings.retryPeriodMs * 2.2;
    return finish(
      env,
      "leader-failover",
      o.seed,
      ns,
      started,
      fleet,
      ledger,
      faults,
      {
        timings: o.timings,
        takeovers: samples,
        takeoverBoundMs: bound,
        takeoverMaxMs: Math.max(...samples.map((s) => s.takeoverMs)),
        leaseLossRestarts: fleet.unexpectedExits,
      },
      logDir,
    );
  });
}

async function claimBound(kube: Kube, ns: string, name: string): Promise<boolean> {
  const c = await kube.get<KubernetesObject & { status?: { sandbox?: { name?: string } } }>({
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxClaim",
    namespace: ns,
    name,
  });
  return Boolean(c.status?.sandbox?.name);
}

export interface ControlPlaneFaultOptions {
  seed: number;
  claims: number;
  downMs?: number;
}

/**
 * kube-apiserver and etcd restarted mid-run (same ports and data), a writer bumping
 * resourceVersions throughout (409s), and a blind window: the operator is paused while objects
 * change under it, the API server restarts and etcd is compacted, so its watches resume into
 * 410 Gone and must re-list without losing what happened meanwhile.
 */
export async function controlPlaneFaults(env: FaultEnv, cp: ControlPlane, o: ControlPlaneFaultOptions): Promise<FaultResult> {
  const started = Date.now();
  const rand = seededRandom(o.seed);
  const downMs = o.downMs ?? 1_500;
  const ns = await freshNamespace(env.kube, "fault-cp");
  const logDir = join(env.logDir, ns);
  const ledger = new PoolLedger(env.kube, ns);
  await ledger.start();
  const w = new Workload(env.kube, ns, ledger);
  await w.setup({ pool: 3 });
  const fleet = new OperatorFleet({ kubeconfig: env.kubeconfig, namespace: ns, logDir, leaderElect: false });
  return guarded(fleet, ledger, async () => {
    await fleet.start("solo");
    const faults = {
      apiserverRestart: 0,
      etcdRestart: 0,
      etcdCompaction: 0,
      blindWindow: 0,
      resourceVersionBumps: 0,
      podDeletedWhileBlind: 0,
    };
    const stopWriter = new AbortController();
    const writer = w.conflictWriter(stopWriter.signal, rand);

    const third = Math.max(3, Math.floor(o.claims / 3));
    const names = Array.from({ length: o.claims }, (_, i) => `cp-${i}`);
    // 1: API server restart in the middle of a claim burst, once the operator is at work.
    await w.createClaims(names.slice(0, 2), "pool");
    await retrying(
      "first claims bound",
      async () => ((await claimBound(env.kube, ns, names[1] ?? "cp-1")) ? true : Promise.reject(new Error("unbound"))),
      undefined,
      90_000,
    );
    const burst1 = w.createClaims(names.slice(2, third), "pool", 4);
    await sleep(200 + rand() * 500);
    await cp.restartApiServer({ downMs });
    faults.apiserverRestart++;
    await burst1;
    // 2: etcd restart while the pool scales up and claims arrive.
    await w.scale("pool", 5);
    const burst2 = w.createClaims(names.slice(third, 2 * third), "pool", 4);
    await sleep(200 + rand() * 500);
    await cp.restartEtcd({ downMs });
    faults.etcdRestart++;
    await burst2;
    // 3: blind window. Everything here happens while the operator cannot see it.
    await sleep(1_000);
    fleet.pause("solo");
    faults.blindWindow++;
    const victim = await retrying(
      "a bound claim",
      async () => (await firstBoundSandbox(env.kube, ns)) ?? Promise.reject(new Error("none bound yet")),
      undefined,
      90_000,
    );
    if (victim) {
      await retrying("delete a bound sandbox's pod", () =>
        env.kube.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: victim }, { gracePeriodSeconds: 0 }),
      );
      faults.podDeletedWhileBlind++;
    }
    await w.deleteClaim(names[0] ?? "cp-0");
    await w.createClaims(names.slice(2 * third), "pool", 4);
    await w.scale("pool", 3);
    await w.deleteMember("pool", rand);
    // Graceful: watches end cleanly, so informers try to resume from their last resourceVersion
    // (which the new API server's fresh watch cache, and etcd once compacted, no longer serve).
    await cp.restartApiServer({ downMs, graceful: true });
    faults.apiserverRestart++;
    await retrying("compact etcd", () => cp.compactEtcd());
    faults.etcdCompaction++;
    fleet.resume("solo");
    await sleep(2_000);
    stopWriter.abort();
    await writer;
    faults.resourceVersionBumps = w.ops.bumps;
    const gone = await watch410s(env.kube);
    return finish(
      env,
      "control-plane",
      o.seed,
      ns,
      started,
      fleet,
      ledger,
      faults,
      { ops: w.ops, apiserverWatch410s: gone, victimPod: victim, unexpectedOperatorExits: fleet.unexpectedExits },
      logDir,
    );
  });
}

async function firstBoundSandbox(kube: Kube, ns: string): Promise<string | undefined> {
  const claims = await retrying("list claims", () =>
    kube.list<KubernetesObject & { status?: { sandbox?: { name?: string } } }>(
      { apiVersion: "extensions.agents.x-k8s.io/v1beta1", kind: "SandboxClaim" },
      { namespace: ns },
    ),
  );
  return claims.items.map((c) => c.status?.sandbox?.name).find((n): n is string => Boolean(n));
}

/** 410 answers to WATCH requests the (current) API server gave, from its /metrics. */
async function watch410s(kube: Kube): Promise<number> {
  const text = await retrying("apiserver /metrics", () => kube.request<string>("GET", "/metrics"));
  let n = 0;
  for (const line of String(text).split("\n")) {
    if (line.startsWith("apiserver_request_total{") && line.includes('code="410"') && line.includes('verb="WATCH"'))
      n += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return n;
}

export interface DriftOptions {
  seed: number;
  sandboxes: number;
}

/**
 * Hand edits to a sandbox's children, one batch per round, each followed by the invariants:
 * deleted pod, service and policy come back; changed pod labels, service selector
 * and ports, policy selector and rules (an added egress or ingress peer) and the pod's image
 * (a mutable pod spec field) are put back.
 */
export async function driftRepair(env: FaultEnv, o: DriftOptions): Promise<FaultResult> {
  const started = Date.now();
  const rand = seededRandom(o.seed);
  const ns = await freshNamespace(env.kube, "fault-drift");
  const logDir = join(env.logDir, ns);
  const fleet = new OperatorFleet({ kubeconfig: env.kubeconfig, namespace: ns, logDir, leaderElect: false });
  return guarded(fleet, undefined, async () => {
    await fleet.start("solo");
    await ensureRuntimeClass(env.kube);
    const names = Array.from({ length: o.sandboxes }, (_, i) => `drift-${i}`);
    for (const name of names) {
      await env.kube.create({
        apiVersion: "agents.x-k8s.io/v1beta1",
        kind: "Sandbox",
        metadata: { name, namespace: ns },
        spec: {
          service: true,
          podTemplate: {
            metadata: { labels: { app: "drift" } },
            spec: {
              tolerations: [{ ...FAKE_NODE_TOLERATION }],
              containers: [
                {
                  name: "main",
                  image: "agent-sandbox/runtime:test",
                  command: ["sleep", "infinity"],
                  ports: [{ containerPort: 9000, name: "app" }],
                },
              ],
            },
          },
        },
      } as KubernetesObject);
    }
    const first = await settleAndCheck(env.kube, ns, { timeoutMs: 60_000 });
    if (first.violations.length) throw new Error(`drift: sandboxes never became Ready: ${JSON.stringify(first.violations.slice(0, 5))}`);

    // Hand edits come from another field manager, as a person's kubectl would.
    const kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    const hand = new Kube(kc, { fieldManager: "kubectl-edit" });
    const faults: Record<string, number> = {};
    const count = (k: string) => (faults[k] = (faults[k] ?? 0) + 1);
    const np = (name: string) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespace: ns, name });
    const svc = (name: string) => ({ apiVersion: "v1", kind: "Service", namespace: ns, name });
    const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", namespace: ns, name });
    const edits: Record<string, (name: string) => Promise<unknown>> = {
      deletePod: (n) => hand.delete(pod(n), { gracePeriodSeconds: 0 }),
      deleteService: (n) => hand.delete(svc(n)),
      deleteNetworkPolicy: (n) => hand.delete(np(n)),
      podLabels: (n) =>
        hand.patch(
          pod(n),
          { metadata: { labels: { "agents.x-k8s.io/sandbox-name-hash": "hijacked", "agents.x-k8s.io/claim-uid": "forged" } } },
          { type: "merge" },
        ),
      serviceSelector: (n) => hand.patch(svc(n), { spec: { selector: { app: "drift" } } }, { type: "merge" }),
      servicePorts: (n) =>
        hand.patch(svc(n), { spec: { ports: [{ name: "evil", port: 2222, targetPort: 22, protocol: "TCP" }] } }, { type: "merge" }),
      policySelector: (n) => hand.patch(np(n), { spec: { podSelector: { matchLabels: { nothing: "here" } } } }, { type: "merge" }),
      policyEgress: (n) => hand.patch(np(n), { spec: { egress: [{}] } }, { type: "merge" }),
      policyIngressFromAll: (n) => hand.patch(np(n), { spec: { ingress: [{ from: [{ namespaceSelector: {} }] }] } }, { type: "merge" }),
      podImage: (n) =>
        hand.patch(pod(n), { spec: { containers: [{ name: "main", image: "attacker/implant:latest" }] } }, { type: "strategic" }),
    };
    const rounds: { edits: string[]; violations: Violation[] }[] = [];
    const keys = Object.keys(edits);
    // Every kind of edit once, in a seeded order, several at a time across the sandboxes.
    const order = keys
      .map((k) => ({ k, r: rand() }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.k);
    for (let i = 0; i < order.length; i += 3) {
      const batch = order.slice(i, i + 3);
      for (const [j, k] of batch.entries()) {
        const target = names[(i + j) % names.length] ?? "drift-0";
        await edits[k]?.(target);
        count(k);
      }
      const report = await settleAndCheck(env.kube, ns, { timeoutMs: env.settleTimeoutMs ?? 60_000 });
      rounds.push({ edits: batch, violations: report.violations });
      if (report.violations.length) env.log?.(`drift round ${batch.join(",")}: ${JSON.stringify(report.violations)}`);
    }
    const result = await finish(env, "drift-repair", o.seed, ns, started, fleet, undefined, faults, { rounds }, logDir);
    // A round whose edits were never repaired counts even if a later round's edits healed them.
    for (const r of rounds) {
      for (const v of r.violations) result.invariants.violations.push({ ...v, detail: `after edits ${r.edits.join(", ")}: ${v.detail}` });
    }
    result.survived = result.survived && rounds.every((r) => r.violations.length === 0);
    return result;
  });
}
