// The invariant checker itself: it must see each kind of broken world (a checker that cannot
// fail proves nothing). No operator runs here; the test builds the broken states by hand.
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { freshNamespace, testKube } from "../harness/cluster.js";
import { checkInvariants, settleAndCheck } from "./invariants.js";
import { PoolLedger } from "./pool-ledger.js";
import { TEMPLATE, Workload } from "./workload.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
const SB = "agents.x-k8s.io/v1beta1";
let kube: Kube;
let ns: string;
let ledger: PoolLedger;

beforeAll(async () => {
  kube = testKube();
  ns = await freshNamespace("invariants");
  ledger = new PoolLedger(kube, ns);
  await ledger.start();
});
afterAll(async () => {
  await ledger?.stop();
  await kube.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => undefined);
});

const sandbox = (
  name: string,
  owner?: { kind: string; name: string; uid: string },
  labels: Record<string, string> = {},
): KubernetesObject =>
  ({
    apiVersion: SB,
    kind: "Sandbox",
    metadata: { name, namespace: ns, labels, ...(owner ? { ownerReferences: [{ apiVersion: EXT, ...owner, controller: true }] } : {}) },
    spec: { podTemplate: { spec: { containers: [{ name: "main", image: "x:1" }] } } },
  }) as KubernetesObject;

describe("invariant checker", () => {
  it("passes an empty namespace", async () => {
    const r = await checkInvariants(kube, ns);
    expect(r.violations).toEqual([]);
  });

  it("reports unbound claims, pools short of replicas, lying status, orphans and over-creation", async () => {
    const w = new Workload(kube, ns, ledger);
    await w.setup({ pool: 1 });
    const pool = await kube.get<KubernetesObject>({ apiVersion: EXT, kind: "SandboxWarmPool", namespace: ns, name: "pool" });
    await w.createClaims(["lonely"], "pool");
    // Three warm members the pool "created" for 1 replica: over-creation (and too many members).
    for (const n of ["m-1", "m-2", "m-3"]) {
      await kube.create(
        sandbox(n, { kind: "SandboxWarmPool", name: "pool", uid: pool.metadata?.uid ?? "" }, { "agents.x-k8s.io/launch-type": "warm" }),
      );
    }
    // A Sandbox whose status says Ready with no pod behind it.
    await kube.create(sandbox("liar"));
    await kube.patch(
      { apiVersion: SB, kind: "Sandbox", namespace: ns, name: "liar" },
      {
        status: {
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "DependenciesReady",
              message: "",
              lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
            },
          ],
        },
      },
      { type: "merge", subresource: "status" },
    );
    // Wait for the ledger's watch to see the members.
    for (let i = 0; i < 50 && ledger.account("pool").created < 3; i++) await new Promise((r) => setTimeout(r, 100));
    // A pod controlled by a Sandbox uid that does not exist. The owner's apiVersion is one the
    // API server does not serve: with a served one the garbage collector deletes the pod within
    // about 0.1 s, sometimes before the check lists it (CI failed so), while an owner it cannot
    // map is retried and never collected (still there after 2 s in the same probe). The checker
    // judges owners by kind and uid, so the pod is still the orphan it must report.
    await kube.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "orphan",
        namespace: ns,
        ownerReferences: [
          {
            apiVersion: "agents.x-k8s.io/v0unserved",
            kind: "Sandbox",
            name: "gone",
            uid: "00000000-0000-0000-0000-000000000000",
            controller: true,
          },
        ],
      },
      spec: { containers: [{ name: "c", image: "x:1" }] },
    } as KubernetesObject);
    const r = await checkInvariants(kube, ns, { ledger });
    const found = new Set(r.violations.map((v) => `${v.invariant} ${v.object}`));
    expect(found).toContain("claim.bound SandboxClaim/lonely");
    expect(found).toContain("claim.one-sandbox SandboxClaim/lonely");
    expect(found).toContain("pool.replicas SandboxWarmPool/pool");
    expect(found).toContain("pool.status-true SandboxWarmPool/pool");
    expect(found).toContain("pool.no-over-creation SandboxWarmPool/pool");
    expect(found).toContain("sandbox.status-true Sandbox/liar");
    expect(found).toContain("orphan.pod Pod/orphan");
    expect(r.violations.find((v) => v.invariant === "pool.no-over-creation")?.detail).toContain("created 3 members, needed 1");
    expect(TEMPLATE).toBeTruthy();
  });

  it("settleAndCheck gives up at its bound and returns the violations it still sees", async () => {
    const r = await settleAndCheck(kube, ns, { timeoutMs: 1_500, intervalMs: 500 });
    expect(r.settled).toBe(false);
    expect(r.violations.length).toBeGreaterThan(0);
  });
});
