// The agent's fast path: a warm pool keeps gVisor sandboxes Ready, a claim adopts one, the
// first execute through the router works at once and keeps state, and the pool refills.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, waitFor, type ClusterEnv } from "../harness/cluster.js";
import {
  EXT_API,
  agentToken,
  deleteNamespaceAndWait,
  executeOk,
  getJson,
  isReady,
  list,
  applyPythonPool,
  routerUrl,
  waitReady,
  type KObject,
} from "./helpers.js";

const POOL = "python-pool";
const REPLICAS = 2;

describe("warm pool -> claim -> execute through the router", () => {
  let env: ClusterEnv;
  let ns: string;
  let token: string;
  let warmBefore: string[] = [];
  let adopted = "";

  /** Sandboxes the pool controls (adopted ones change owner to their claim). */
  const poolMembers = async (): Promise<KObject[]> =>
    (await list(env, ns, "sandbox")).filter((s) =>
      s.metadata.ownerReferences?.some((o) => o.controller && o.kind === "SandboxWarmPool" && o.name === POOL),
    );

  /** Names of pool members whose pods are Ready, when the pool reports exactly N of N. */
  const readyMembers = async (): Promise<string[]> => {
    const members = await poolMembers();
    const pods = await list(env, ns, "pod");
    return members.filter((m) => isReady(pods.find((p) => p.metadata.name === m.metadata.name))).map((m) => m.metadata.name);
  };

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-pool");
    await applyPythonPool(env, ns, POOL, { replicas: REPLICAS, waitReady: false });
    token = await agentToken(env, ns, "agent", true);
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it(`a pool of ${REPLICAS} becomes ${REPLICAS} Ready gVisor pods`, async () => {
    await waitFor(
      async () =>
        (await readyMembers()).length === REPLICAS && (await getJson(env, ns, "sandboxwarmpool", POOL))?.status?.readyReplicas === REPLICAS,
      150_000,
      `${REPLICAS} Ready pool members`,
    );
    warmBefore = await readyMembers();
    expect(warmBefore).toHaveLength(REPLICAS);
    expect((await poolMembers()).length).toBe(REPLICAS);
    const pool = await getJson(env, ns, "sandboxwarmpool", POOL);
    expect(pool?.status?.readyReplicas).toBe(REPLICAS);
    for (const name of warmBefore) {
      const pod = await getJson<KObject & { spec: { runtimeClassName?: string } }>(env, ns, "pod", name);
      expect(pod?.spec.runtimeClassName).toBe("gvisor");
    }
  });

  it("a claim adopts a warm sandbox and the first execute through the router succeeds, statefully", async () => {
    expect(warmBefore).toHaveLength(REPLICAS);
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxClaim",
        metadata: { name: "agent-1", namespace: ns },
        spec: { warmPoolRef: { name: POOL } },
      }),
    );
    const claim = await waitReady(env, ns, "sandboxclaim", "agent-1", 60_000);
    adopted = claim.status?.sandbox?.name ?? "";
    // Adopted, not cold-started: the sandbox is one that was already warm.
    expect(warmBefore).toContain(adopted);
    const sandbox = await getJson(env, ns, "sandbox", adopted);
    expect(sandbox?.metadata.ownerReferences?.find((o) => o.controller)).toMatchObject({ kind: "SandboxClaim", name: "agent-1" });

    const router = await routerUrl(env);
    // Addressed by the claim's name, as an agent knows it.
    const first = await executeOk(router, ns, "agent-1", "secret_number = 21\nprint('first', secret_number)", token);
    expect(first.trim()).toBe("first 21");
    const second = await executeOk(router, ns, "agent-1", "print('second', secret_number * 2)", token);
    expect(second.trim()).toBe("second 42");
  });

  it(`the pool refills to ${REPLICAS} Ready members without the adopted one`, async () => {
    expect(adopted).not.toBe("");
    await waitFor(
      async () =>
        (await readyMembers()).length === REPLICAS && (await getJson(env, ns, "sandboxwarmpool", POOL))?.status?.readyReplicas === REPLICAS,
      150_000,
      "the pool to refill",
    );
    const members = await readyMembers();
    expect(members).toHaveLength(REPLICAS);
    expect(members).not.toContain(adopted);
    expect((await poolMembers()).length).toBe(REPLICAS);
    // The claim keeps its sandbox.
    expect((await getJson(env, ns, "sandboxclaim", "agent-1"))?.status?.sandbox?.name).toBe(adopted);
  });
});
