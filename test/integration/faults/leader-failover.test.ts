// Two operator replicas with a Lease: the follower runs no reconcile, a paused (SIGSTOP) leader
// makes no progress and is replaced once its lease runs out, a killed (SIGKILL) one likewise;
// claims made during each fault bind after the takeover, and every invariant holds.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterInfo, testKube } from "../harness/cluster.js";
import { describeViolations } from "./invariants.js";
import { dropNamespace, leaderFailover, type TakeoverSample } from "./scenarios.js";

describe("two operator replicas", () => {
  it("only the Lease holder reconciles; the other takes over when it is paused or killed", async () => {
    const kube = testKube();
    const result = await leaderFailover(
      {
        kube,
        kubeconfig: clusterInfo().kubeconfig,
        logDir: join(tmpdir(), "agent-sandbox-faults"),
        log: (m) => console.error(`[faults] ${m}`),
      },
      { seed: 6002, rounds: 2, timings: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 } },
    );
    await dropNamespace(kube, String(result.detail["namespace"]));
    const samples = result.detail["takeovers"] as TakeoverSample[];
    expect(samples.map((s) => s.how)).toEqual(["sigstop", "sigkill"]);
    for (const s of samples) {
      expect(s.to).not.toBe(s.from);
      expect(s.followerReconcilesBefore).toBe(0);
      expect(s.progressBeforeTakeover).toBe(false);
    }
    expect(describeViolations(result.invariants)).toBe("");
    expect(result.survived).toBe(true);
  }, 240_000);
});
