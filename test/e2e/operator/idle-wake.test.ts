// Idle suspension and wake on request on real gVisor pods: a claimed sandbox that no call reaches
// for its idle timeout is suspended (its pod goes), and a plain execute through the router wakes
// it and reads back a file written before, from the workspace's persistent volume.
//
// This cluster has no storage provisioner, so the test provisions statically, as an
// administrator would: it makes hostPath PersistentVolumes of its own storage class, which the
// template's workspace volume claim binds to.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, kubectl, waitFor, type ClusterEnv } from "../harness/cluster.js";
import { EXT_API, agentToken, deleteNamespaceAndWait, executeOk, getJson, mainPodSpec, routerUrl } from "./helpers.js";

const IDLE_TIMEOUT_S = 15;
const POOL = "idle-pool";

describe("idle suspension and wake on request (gVisor)", () => {
  let env: ClusterEnv;
  let ns: string;
  let token: string;
  let router: string;
  let storageClass: string;
  const volumes: Array<{ name: string; dir: string }> = [];

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-idle");
    storageClass = `e2e-static-${ns}`;
    // One volume for the member the claim adopts and one for the pool's refill.
    for (const i of [1, 2]) {
      const name = `${ns}-workspace-${i}`;
      const dir = `/var/lib/agent-sandbox-e2e/${name}`;
      mkdirSync(dir, { recursive: true });
      // The sandbox runs as a non-root user; the umask would leave the directory 0755.
      chmodSync(dir, 0o777);
      volumes.push({ name, dir });
      await apply(
        env,
        JSON.stringify({
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name, labels: { "agent-sandbox-ts/test": ns } },
          spec: {
            capacity: { storage: "1Gi" },
            accessModes: ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: storageClass,
            hostPath: { path: dir, type: "Directory" },
          },
        }),
      );
    }
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxTemplate",
        metadata: { name: "idle", namespace: ns, annotations: { "agents.x-k8s.io/idle-timeout": `${IDLE_TIMEOUT_S}s` } },
        spec: {
          podTemplate: { spec: mainPodSpec(env.runtimeImage) },
          volumeClaimTemplates: [
            {
              metadata: { name: "sandbox-workspace" },
              spec: { accessModes: ["ReadWriteOnce"], storageClassName: storageClass, resources: { requests: { storage: "1Gi" } } },
            },
          ],
        },
      }),
    );
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxWarmPool",
        metadata: { name: POOL, namespace: ns },
        spec: { replicas: 1, sandboxTemplateRef: { name: "idle" } },
      }),
    );
    token = await agentToken(env, ns, "agent", true);
    router = await routerUrl(env);
    await waitFor(async () => (await getJson(env, ns, "sandboxwarmpool", POOL))?.status?.readyReplicas === 1, 150_000, "warm pool member");
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
    for (const v of volumes) {
      if (env) await kubectl(env, ["delete", "persistentvolume", v.name, "--wait=false"]);
      rmSync(v.dir, { recursive: true, force: true });
    }
  });

  it("suspends the idle sandbox, and a plain execute through the router wakes it with its files", async () => {
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxClaim",
        metadata: { name: "agent-1", namespace: ns },
        spec: { warmPoolRef: { name: POOL } },
      }),
    );
    await waitFor(
      async () =>
        (await getJson(env, ns, "sandboxclaim", "agent-1"))?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ??
        false,
      60_000,
      "claim Ready",
    );
    const claim = await getJson(env, ns, "sandboxclaim", "agent-1");
    const sandboxName = claim?.status?.sandbox?.name ?? "";
    expect(sandboxName).not.toBe("");
    const podBefore = await getJson(env, ns, "pod", sandboxName);

    await executeOk(router, ns, "agent-1", "open('/workspace/kept.txt', 'w').write('written before the suspension')\nx = 41", token);
    expect(await executeOk(router, ns, "agent-1", "print(x + 1)", token)).toBe("42\n");

    const suspendedAt = Date.now();
    await waitFor(
      async () => (await getJson(env, ns, "sandbox", sandboxName))?.spec?.["operatingMode"] === "Suspended",
      IDLE_TIMEOUT_S * 1000 + 60_000,
      "suspended for idleness",
    );
    const suspended = await getJson(env, ns, "sandbox", sandboxName);
    expect(suspended?.metadata.annotations?.["agents.x-k8s.io/idle-suspended-at"]).toBeTruthy();
    await waitFor(async () => (await getJson(env, ns, "pod", sandboxName)) === undefined, 60_000, "pod gone");
    console.log(`[idle-wake] suspended ${Math.round((Date.now() - suspendedAt) / 1000)} s after the last call`);

    // A plain execute, as any client sends it: held while the sandbox resumes, then answered.
    const started = Date.now();
    const res = await fetch(`${router}/sandboxes/${ns}/agent-1/v1/execute`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ code: "print(open('/workspace/kept.txt').read())\nprint('x' in globals())", language: "python" }),
      signal: AbortSignal.timeout(90_000),
    });
    const wakeMs = Date.now() - started;
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get("x-sandbox-resumed")).toBe("true");
    const body = JSON.parse(text) as { stdout?: string; exitCode?: number; context?: { stateLost?: boolean; restartReason?: string } };
    expect(body.exitCode).toBe(0);
    // The file is back; the interpreter's state is not, and the answer says so.
    expect(body.stdout).toBe("written before the suspension\nFalse\n");
    expect(body.context?.stateLost).toBe(true);
    expect(body.context?.restartReason).toContain("the sandbox was suspended");
    expect(body.context?.restartReason).toContain("files in /workspace were kept");
    console.log(`[idle-wake] wake to first answer: ${wakeMs} ms`);

    const podAfter = await getJson(env, ns, "pod", sandboxName);
    expect(podAfter?.metadata.uid).toBeTruthy();
    expect(podAfter?.metadata.uid).not.toBe(podBefore?.metadata.uid);
    const resumed = await getJson(env, ns, "sandbox", sandboxName);
    expect(resumed?.spec?.["operatingMode"]).toBe("Running");
    expect(resumed?.metadata.annotations?.["agents.x-k8s.io/idle-suspended-at"]).toBeUndefined();
  });
});
