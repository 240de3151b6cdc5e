import { CoordinationV1Api, V1MicroTime } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { LeaderElector, type LeaderElectionOptions } from "../../../src/runtime/leader.js";
import { freshNamespace, testKubeConfig, waitFor } from "../harness/cluster.js";

const kc = testKubeConfig();
const leases = kc.makeApiClient(CoordinationV1Api);

// Short timings so hand-overs happen within seconds; the ratios match the defaults.
const FAST = { leaseDurationMs: 5_000, renewDeadlineMs: 3_500, retryPeriodMs: 500 };

interface Candidate {
  elector: LeaderElector;
  started: number;
  stopped: number;
  signal: AbortSignal | undefined;
  outcome: Promise<string>;
}

function candidate(namespace: string, name: string, identity: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
  const c: Partial<Candidate> = { started: 0, stopped: 0, signal: undefined };
  c.elector = new LeaderElector({
    kc,
    namespace,
    name,
    identity,
    ...FAST,
    ...extra,
    onStartedLeading: (signal) => {
      c.started = (c.started ?? 0) + 1;
      c.signal = signal;
    },
    onStoppedLeading: () => {
      c.stopped = (c.stopped ?? 0) + 1;
    },
  });
  c.outcome = c.elector.run();
  return c as Candidate;
}

describe("LeaderElector on a coordination.k8s.io/v1 Lease", () => {
  let ns = "";
  beforeAll(async () => {
    ns = await freshNamespace("leader");
  });

  it("validates its timings", () => {
    const base = { kc, namespace: "x", name: "y", onStartedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/renewDeadline/);
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 15_500 })).toThrow(/whole seconds/);
  });

  it("elects exactly one of two candidates and hands over when the holder stops renewing", async () => {
    const a = candidate(ns, "crash", "a");
    const b = candidate(ns, "crash", "b");
    const first = await waitFor(() => (a.elector.isLeader() ? a : b.elector.isLeader() ? b : undefined), { message: "one leader" });
    const second = first === a ? b : a;
    // Let a few renew periods pass: still exactly one leader.
    await new Promise((r) => setTimeout(r, 1_500));
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(second.elector.observedLeader()).toBe(first.elector.identity);
    const lease = await leases.readNamespacedLease({ name: "crash", namespace: ns });
    expect(lease.spec?.holderIdentity).toBe(first.elector.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(5);
    // Written as MicroTime: six fractional digits.
    expect(String(lease.spec?.renewTime instanceof Date ? lease.spec.renewTime.toISOString() : lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);

    // "Crash": stop renewing without releasing. The other takes over after the lease expires.
    await first.elector.stop({ release: false });
    expect(first.signal?.aborted).toBe(true);
    await waitFor(() => second.elector.isLeader(), { timeoutMs: 20_000, message: "takeover after expiry" });
    const after = await leases.readNamespacedLease({ name: "crash", namespace: ns });
    expect(after.spec?.holderIdentity).toBe(second.elector.identity);
    expect(after.spec?.leaseTransitions).toBe(1);
    expect(second.started).toBe(1);
    await second.elector.stop({ release: true });
    expect(await first.outcome).toBe("stopped");
    expect(await second.outcome).toBe("stopped");
  });

  it("releases the lease on graceful stop so a waiting candidate takes over without waiting for expiry", async () => {
    // A long lease: only a release (not expiry) can hand over within the test's timeout.
    const slow = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 400 };
    const a = candidate(ns, "release", "a", slow);
    await waitFor(() => a.elector.isLeader(), { message: "a leads" });
    const b = candidate(ns, "release", "b", slow);
    await waitFor(() => b.elector.stateKnown(), { message: "b campaigned" });
    expect(b.elector.isLeader()).toBe(false);
    await a.elector.stop({ release: true });
    expect(a.stopped).toBe(1);
    await waitFor(() => b.elector.isLeader(), { timeoutMs: 20_000, message: "b takes the released lease" });
    await b.elector.stop({ release: true });
  });

  it("stops leading (signal aborted, outcome lost) when another writer takes the lease", async () => {
    const a = candidate(ns, "stolen", "a");
    await waitFor(() => a.elector.isLeader(), { message: "a leads" });
    // An intruder overwrites the lease with a long duration; a's renewals now see a valid foreign holder.
    const lease = await leases.readNamespacedLease({ name: "stolen", namespace: ns });
    await leases.replaceNamespacedLease({
      name: "stolen",
      namespace: ns,
      body: {
        ...lease,
        spec: {
          holderIdentity: "intruder",
          leaseDurationSeconds: 3600,
          renewTime: new V1MicroTime(),
          acquireTime: new V1MicroTime(),
          leaseTransitions: 7,
        },
      },
    });
    expect(await a.outcome).toBe("lost");
    expect(a.signal?.aborted).toBe(true);
    expect(a.stopped).toBe(1);
    expect(a.elector.isLeader()).toBe(false);
  });

  it("stops leading as soon as it runs again after being frozen past its lease (GC pause, SIGSTOP), before other timers act", async () => {
    const a = candidate(ns, "frozen", "a");
    await waitFor(() => a.elector.isLeader(), { message: "a leads" });
    // Freeze this whole process (the event loop) for longer than the lease, as SIGSTOP would.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FAST.leaseDurationMs + 500);
    // The first timer scheduled after the freeze: anything the operator's workers would do on
    // waking runs no earlier than this. By then the elector must have stood down; before the fix
    // it went on leading (and reconciling) for up to another renewDeadline.
    await new Promise((r) => setTimeout(r, 1));
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signal?.aborted).toBe(true);
    expect(await a.outcome).toBe("lost");
  });
});
