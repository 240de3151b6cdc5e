// Crash safety of the installed operator: the leading replica's node process gets SIGKILL
// (a real `kill -9` of its host PID, found through the pod's cgroup) in the middle of a
// burst of claims. Another process takes the Lease, and afterwards every claim has exactly
// one Sandbox: no claim lost, none served twice, no orphan left behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, kubectlOk, waitFor, type ClusterEnv } from "../harness/cluster.js";
import {
  EXT_API,
  OPERATOR_NS,
  deleteNamespaceAndWait,
  getJson,
  hostPidsOfPod,
  isReady,
  list,
  applyPythonPool,
  waitReady,
  type KObject,
} from "./helpers.js";

const POOL = "burst-pool";
const CLAIMS = 5;
const LEASE = "agent-sandbox-ts-leader";

interface PodStatus extends KObject {
  status?: KObject["status"] & { containerStatuses?: { name: string; restartCount: number; ready: boolean }[] };
}

async function leaseHolder(env: ClusterEnv): Promise<string> {
  return (await kubectlOk(env, ["-n", OPERATOR_NS, "get", "lease", LEASE, "-o", "jsonpath={.spec.holderIdentity}"])).trim();
}

const claimManifest = (ns: string, name: string): string =>
  JSON.stringify({ apiVersion: EXT_API, kind: "SandboxClaim", metadata: { name, namespace: ns }, spec: { warmPoolRef: { name: POOL } } });

describe("kill -9 of the leading operator during a burst of claims", () => {
  let env: ClusterEnv;
  let ns: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-kill");
    await applyPythonPool(env, ns, POOL, { replicas: 1, waitReady: true });
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("loses nothing: after another operator process takes over, each claim has exactly one sandbox", async () => {
    const holder = await leaseHolder(env);
    const leaderPod = holder.split("_")[0] ?? "";
    const pod = await getJson<PodStatus>(env, OPERATOR_NS, "pod", leaderPod);
    expect(pod, `leader pod ${leaderPod} (lease holder ${holder})`).toBeDefined();
    const restartsBefore = pod?.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const pids = hostPidsOfPod(pod?.metadata.uid ?? "", (argv) => argv.some((a) => a.endsWith("operator/main.js")));
    expect(pids.length, `operator process of ${leaderPod}`).toBeGreaterThan(0);

    const names = Array.from({ length: CLAIMS }, (_, i) => `burst-${i}`);
    const [early, late] = [names.slice(0, 2), names.slice(2)];
    await Promise.all(early.map((n) => apply(env, claimManifest(ns, n))));
    // The operator is now adopting/creating for the first claims: SIGKILL, no chance to clean up.
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await Promise.all(late.map((n) => apply(env, claimManifest(ns, n))));

    // A different operator process (the standby, or the restarted one: identities are per process) leads.
    await waitFor(
      async () => {
        const now = await leaseHolder(env);
        return now !== "" && now !== holder;
      },
      90_000,
      "another operator process to take the Lease",
    );
    expect(await leaseHolder(env)).not.toBe(holder);

    for (const n of names) await waitReady(env, ns, "sandboxclaim", n, 150_000);

    const claims = await list(env, ns, "sandboxclaim");
    const sandboxes = await list(env, ns, "sandbox");
    const pods = await list(env, ns, "pod");
    expect(claims.map((c) => c.metadata.name).sort()).toEqual(names);
    const bound = new Set<string>();
    for (const claim of claims) {
      const owned = sandboxes.filter((s) =>
        s.metadata.ownerReferences?.some((o) => o.controller && o.kind === "SandboxClaim" && o.uid === claim.metadata.uid),
      );
      expect(
        owned.map((s) => s.metadata.name),
        `sandboxes of claim ${claim.metadata.name}`,
      ).toHaveLength(1);
      const name = owned[0]?.metadata.name ?? "";
      expect(claim.status?.sandbox?.name).toBe(name);
      expect(bound.has(name), `${name} bound twice`).toBe(false);
      bound.add(name);
      // One pod per sandbox, and it is Ready.
      const itsPods = pods.filter((p) => p.metadata.ownerReferences?.some((o) => o.controller && o.kind === "Sandbox" && o.name === name));
      expect(itsPods, `pods of sandbox ${name}`).toHaveLength(1);
      expect(isReady(itsPods[0])).toBe(true);
    }
    // Nothing orphaned: every sandbox belongs to a claim or to the pool.
    for (const s of sandboxes) {
      expect(s.metadata.ownerReferences?.find((o) => o.controller)?.kind, `owner of ${s.metadata.name}`).toMatch(
        /^(SandboxClaim|SandboxWarmPool)$/,
      );
    }
    // The pool settles back to its one member, not more.
    await waitFor(
      async () => {
        const members = (await list(env, ns, "sandbox")).filter((s) =>
          s.metadata.ownerReferences?.some((o) => o.controller && o.kind === "SandboxWarmPool"),
        );
        return members.length === 1;
      },
      60_000,
      "the pool to hold exactly 1 member",
    );

    // The killed container really died and came back (kubelet restarted it in place).
    await waitFor(
      async () => {
        const p = await getJson<PodStatus>(env, OPERATOR_NS, "pod", leaderPod);
        const c = p?.status?.containerStatuses?.[0];
        return (c?.restartCount ?? 0) > restartsBefore && c?.ready === true;
      },
      120_000,
      `${leaderPod} to restart after SIGKILL`,
    );
  });
});
