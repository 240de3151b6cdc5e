// SIGKILL the operator process at seeded random intervals during a claim burst and pool scaling;
// once it settles, every invariant holds (invariants.ts).
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterInfo, testKube } from "../harness/cluster.js";
import { describeViolations } from "./invariants.js";
import { dropNamespace, operatorKillChaos } from "./scenarios.js";

describe("operator SIGKILLed repeatedly", () => {
  it("loses nothing: every claim has one Ready sandbox, pools at spec.replicas, no orphans, no over-creation", async () => {
    const kube = testKube();
    const result = await operatorKillChaos(
      {
        kube,
        kubeconfig: clusterInfo().kubeconfig,
        logDir: join(tmpdir(), "agent-sandbox-faults"),
        log: (m) => console.error(`[faults] ${m}`),
      },
      { seed: 6001, kills: 6, claims: 16 },
    );
    await dropNamespace(kube, String(result.detail["namespace"]));
    expect(result.faults["operatorSigkill"]).toBe(6);
    expect(describeViolations(result.invariants)).toBe("");
    expect(result.invariants.settled).toBe(true);
    expect(result.invariants.counts.claims).toBe(15); // 16 made, 1 deleted
    expect(result.survived).toBe(true);
  }, 240_000);
});
