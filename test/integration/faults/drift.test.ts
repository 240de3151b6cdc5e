// Hand edits to a sandbox's children (beyond the delete/selector cases in
// controllers/sandbox.test.ts): deleted service, forged pod labels, service
// ports, policy selector and rules, a swapped container image. Each batch is repaired.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterInfo, testKube } from "../harness/cluster.js";
import { describeViolations } from "./invariants.js";
import { dropNamespace, driftRepair } from "./scenarios.js";

describe("drift by hand", () => {
  it("puts back every deleted or changed child", async () => {
    const kube = testKube();
    const result = await driftRepair(
      {
        kube,
        kubeconfig: clusterInfo().kubeconfig,
        logDir: join(tmpdir(), "agent-sandbox-faults"),
        log: (m) => console.error(`[faults] ${m}`),
        settleTimeoutMs: 30_000,
      },
      { seed: 6004, sandboxes: 3 },
    );
    await dropNamespace(kube, String(result.detail["namespace"]));
    expect(Object.keys(result.faults).length).toBe(10);
    expect(describeViolations(result.invariants)).toBe("");
    expect(result.survived).toBe(true);
  }, 240_000);
});
