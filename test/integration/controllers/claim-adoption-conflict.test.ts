// A warm adoption that loses its race, against a real API server: the claim's annotation naming
// the member goes out beside the adoption patch, so when the API server refuses that patch (409,
// the member changed since the cache saw it) the claim must end up naming the member it did win,
// or, when there is none left, no member at all (it starts cold), by the time it is Ready.
// The conflict is real: just before the operator's adoption patch leaves, the test writes to the
// member itself, so the patch's resourceVersion precondition fails on the API server.
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isConflict, type Kube } from "../../../src/runtime/index.js";
import { freshNamespace, testKube } from "../harness/cluster.js";
import {
  claimManifest,
  poolManifest,
  startOperator,
  templateManifest,
  type RunningOperator,
  waitClaimReady,
  waitPoolReady,
} from "./operator-fixture.js";

const SB = "agents.x-k8s.io/v1beta1";
const SANDBOX_NAME = "agents.x-k8s.io/sandbox-name";

type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
type PatchArgs = Parameters<Kube["patch"]>;

let kube: Kube;
let operator: RunningOperator;
/** How many of the operator's next adoption patches the test makes conflict. */
let conflictsToCause = 0;
/** Adoption patches the API server refused with 409, by Sandbox name. */
const conflicted: string[] = [];

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  const operatorKube = operator.deps.kube;
  const patch = operatorKube.patch.bind(operatorKube);
  // Times a real concurrent write; the API server itself then refuses the adoption.
  operatorKube.patch = async <T extends KubernetesObject>(...[ref, body, opts]: PatchArgs): Promise<T> => {
    const isAdoption = ref.kind === "Sandbox" && JSON.stringify(body).includes('"ownerReferences"');
    if (isAdoption && conflictsToCause > 0) {
      conflictsToCause--;
      await kube.patch({ ...ref }, { metadata: { labels: { "test.agents.x-k8s.io/touched": "yes" } } }, { type: "merge" });
    }
    try {
      return await patch<T>(ref, body, opts);
    } catch (err) {
      if (isAdoption && isConflict(err) && ref.name) conflicted.push(ref.name);
      throw err;
    }
  };
});
afterAll(async () => {
  await operator?.stop();
});

const readyClaim = (ns: string, name: string) => waitClaimReady(kube, ns, name);
const poolMembers = async (ns: string): Promise<Obj[]> =>
  (await kube.list<Obj>({ apiVersion: SB, kind: "Sandbox" }, { namespace: ns })).items.filter((s) =>
    s.metadata?.ownerReferences?.some((r) => r.kind === "SandboxWarmPool" && r.controller),
  );
const poolReady = (ns: string, name: string, replicas: number) => waitPoolReady(kube, ns, name, replicas);

describe("warm adoption that loses the race for a member", () => {
  it("names the member it did adopt, not the one it lost, by the time it is Ready", async () => {
    const ns = await freshNamespace("claim-adopt-409");
    await kube.create(templateManifest(ns, "tmpl"));
    await kube.create(poolManifest(ns, "pool", "tmpl", 2));
    await poolReady(ns, "pool", 2);
    const members = (await poolMembers(ns)).map((s) => s.metadata?.name ?? "");
    expect(members).toHaveLength(2);
    conflictsToCause = 1;
    conflicted.length = 0;

    await kube.create(claimManifest(ns, "claim", "pool"));
    const claim = await readyClaim(ns, "claim");

    // Exactly one member was lost to the conflict (the first one tried), and the other adopted.
    expect(conflicted).toHaveLength(1);
    const lost = conflicted[0];
    const won = (claim.status?.["sandbox"] as { name?: string } | undefined)?.name;
    expect(won).toBeTruthy();
    expect(won).not.toBe(lost);
    expect(members).toContain(won);
    expect(claim.metadata?.annotations?.[SANDBOX_NAME]).toBe(won);
    const sandbox = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: won ?? "" });
    expect(sandbox.metadata?.ownerReferences?.find((r) => r.controller)?.uid).toBe(claim.metadata?.uid);
    // The lost member is still the pool's, unclaimed.
    const lostMember = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: lost ?? "" });
    expect(lostMember.metadata?.ownerReferences?.find((r) => r.controller)?.kind).toBe("SandboxWarmPool");
    expect(conflictsToCause).toBe(0);
  });

  it("starts cold and names no member when the only one is lost", async () => {
    const ns = await freshNamespace("claim-adopt-409-cold");
    await kube.create(templateManifest(ns, "tmpl"));
    await kube.create(poolManifest(ns, "pool", "tmpl", 1));
    await poolReady(ns, "pool", 1);
    const [member] = (await poolMembers(ns)).map((s) => s.metadata?.name ?? "");
    expect(member).toBeTruthy();
    conflictsToCause = 1;
    conflicted.length = 0;

    await kube.create(claimManifest(ns, "cold", "pool"));
    const claim = await readyClaim(ns, "cold");

    expect(conflicted).toEqual([member]);
    expect((claim.status?.["sandbox"] as { name?: string } | undefined)?.name).toBe("cold");
    expect(claim.metadata?.annotations ?? {}).not.toHaveProperty(SANDBOX_NAME);
    const sandbox = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: "cold" });
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("cold");
    expect(conflictsToCause).toBe(0);
  });
});
