// kube-apiserver and etcd restarted mid-run, resourceVersions bumped by a concurrent writer
// (409s), and a blind window ending in 410 Gone: on its own control plane (the shared one must
// not go down under other tests), with the operator as a separate process.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeFor, startControlPlane, type ControlPlane } from "../harness/control-plane.js";
import { describeViolations } from "./invariants.js";
import { controlPlaneFaults } from "./scenarios.js";

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane({ log: () => undefined });
});
afterAll(async () => {
  await cp?.stop();
});

describe("control plane faults", () => {
  it("survives API server and etcd restarts, conflicts and expired watches", async () => {
    const kube = kubeFor(cp.info.kubeconfig);
    const result = await controlPlaneFaults(
      { kube, kubeconfig: cp.info.kubeconfig, logDir: join(tmpdir(), "agent-sandbox-faults"), log: (m) => console.error(`[faults] ${m}`) },
      cp,
      { seed: 6003, claims: 12 },
    );
    expect(result.faults).toMatchObject({
      apiserverRestart: 2,
      etcdRestart: 1,
      etcdCompaction: 1,
      blindWindow: 1,
      podDeletedWhileBlind: 1,
    });
    expect(result.faults["resourceVersionBumps"]).toBeGreaterThan(0);
    // The operator went through failed watches and came back (it did not just sleep through).
    expect(result.logs.watchRestarts).toBeGreaterThan(0);
    console.error(`[faults] control-plane detail: ${JSON.stringify({ faults: result.faults, logs: result.logs, detail: result.detail })}`);
    expect(describeViolations(result.invariants)).toBe("");
    expect(result.survived).toBe(true);
  }, 300_000);
});
