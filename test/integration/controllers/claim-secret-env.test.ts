// A claim whose env names a Secret, against a real API server: the CRD's rule (exactly one of
// value and valueFrom), a missing Secret reported on the claim and retried until it exists,
// the warm member served without a new pod and its env delivered by the real operator to
// a real execution server (pod marked Ready at 127.0.0.1 by the test, as no kubelet runs); and,
// for an operator without an environment key, the Secret reference in the pod spec instead.
import { generateKeyPairSync } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePublicKey, ExecdTokenSigner, formatSandboxIdentity } from "../../../src/execd-token/index.js";
import type { Kube } from "../../../src/runtime/index.js";
import { startExecd, type ExecdProcess, type ExecuteAnswer } from "../../execd/harness.js";
import { freshNamespace, markPodReady, testKube, testKubeConfig, waitFor } from "../harness/cluster.js";
import { execdTokenKey } from "../harness/execd-token-key.js";
import {
  claimManifest,
  condition,
  fakeNodePodTemplate,
  poolManifest,
  startOperator,
  templateManifest,
  testConfig,
  type RunningOperator,
} from "./operator-fixture.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
const SB = "agents.x-k8s.io/v1beta1";
const SECRET_VALUE = "int-s3cret-4b2e9a";
type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

let kube: Kube;
beforeAll(() => {
  kube = testKube();
});

const getClaim = (ns: string, name: string) => kube.get<Obj>({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name });
const claimReason = (ns: string, name: string, reason: string, timeoutMs = 30_000) =>
  waitFor(
    async () => {
      const c = await getClaim(ns, name);
      return condition(c, "Ready")?.reason === reason ? c : undefined;
    },
    { timeoutMs, message: `claim ${name} Ready reason ${reason}` },
  );
const readyClaim = (ns: string, name: string, timeoutMs = 30_000) =>
  waitFor(
    async () => {
      const c = await getClaim(ns, name);
      return condition(c, "Ready")?.status === "True" ? c : undefined;
    },
    { timeoutMs, message: `claim ${name} Ready` },
  );
const secretManifest = (ns: string, name: string, data: Record<string, string>) =>
  ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  }) as KubernetesObject;
const secretEnv = [{ name: "API_KEY", valueFrom: { secretKeyRef: { name: "api", key: "token" } } }];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the CRD", () => {
  it("refuses a variable with both value and valueFrom, or with neither, and keeps upstream's form", async () => {
    const ns = await freshNamespace("claim-env-cel");
    const both = [{ name: "A", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }];
    await expect(kube.create(claimManifest(ns, "both", "pool", { env: both }))).rejects.toThrow(/exactly one of value and valueFrom/);
    await expect(kube.create(claimManifest(ns, "neither", "pool", { env: [{ name: "A" }] }))).rejects.toThrow(
      /exactly one of value and valueFrom/,
    );
    await kube.create(claimManifest(ns, "upstream", "pool", { env: [{ name: "A", value: "x" }] }));
    await kube.create(claimManifest(ns, "secret", "pool", { env: secretEnv }));
  });
});

describe("an operator with an environment key: the warm member gets the env through its execution server", () => {
  const operatorKey = generateKeyPairSync("ed25519");
  let operator: RunningOperator;
  let execd: ExecdProcess | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    operator = await startOperator(
      { ...testConfig, execPort: port, execdEnvTrustedKeys: [encodePublicKey(operatorKey.publicKey)], operatorPodLabels: { app: "op" } },
      operatorKey.privateKey,
    );
  });
  afterAll(async () => {
    await execd?.stop();
    await operator?.stop();
  });

  it("names the missing Secret on the claim holding its warm member, then is Ready in that same pod once the Secret exists", async () => {
    const ns = await freshNamespace("claim-secret-env");
    // No kwok toleration: no fake kubelet runs these pods, the test marks them Ready at 127.0.0.1.
    const podTemplate = fakeNodePodTemplate();
    delete (podTemplate.spec as { tolerations?: unknown }).tolerations;
    await kube.create(templateManifest(ns, "python", { envVarsInjectionPolicy: "Allowed", podTemplate }));
    await kube.create(poolManifest(ns, "python-pool", "python", 1));
    const member = await waitFor(async () => (await kube.list<Obj>({ apiVersion: SB, kind: "Sandbox" }, { namespace: ns })).items[0], {
      message: "pool member",
    });
    const memberName = member.metadata?.name ?? "";
    const pod = await waitFor(() => kube.getOrUndefined<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: memberName }), {
      message: "member pod",
    });
    // The sidecar the operator injected trusts its key for the environment endpoint.
    const sidecar = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd");
    expect(sidecar?.args).toEqual(expect.arrayContaining(["--env-trusted-key", encodePublicKey(operatorKey.publicKey)]));
    // The sandbox's NetworkPolicy admits the operator's pods on the execution port.
    const policy = await waitFor(
      () =>
        kube.getOrUndefined<Obj>({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          namespace: ns,
          name: "python-network-policy",
        }),
      { message: "template NetworkPolicy" },
    );
    expect(JSON.stringify(policy.spec)).toContain('"app":"op"');
    const identity = { namespace: ns, name: memberName, uid: member.metadata?.uid ?? "" };
    execd = await startExecd({
      port,
      args: [
        "--sandbox",
        formatSandboxIdentity(identity),
        "--trusted-key",
        encodePublicKey(execdTokenKey.publicKey),
        "--env-trusted-key",
        encodePublicKey(operatorKey.publicKey),
      ],
    });
    await markPodReady(testKubeConfig(), ns, memberName, { podIP: "127.0.0.1" });
    await waitFor(
      async () => {
        const s = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: memberName });
        return condition(s, "Ready")?.status === "True" ? s : undefined;
      },
      { message: "member Ready" },
    );

    await kube.create(claimManifest(ns, "agent", "python-pool", { env: secretEnv }));
    const waiting = await claimReason(ns, "agent", "EnvSecretNotFound");
    expect(condition(waiting, "Ready")).toMatchObject({ status: "False" });
    expect(condition(waiting, "Ready")?.message).toContain('Secret "api" not found');
    // The claim already holds the warm member (the Secret is read while it is adopted).
    const held = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: memberName });
    expect(held.metadata?.ownerReferences?.find((r) => r.controller)).toMatchObject({ kind: "SandboxClaim", name: "agent" });

    await kube.create(secretManifest(ns, "api", { token: SECRET_VALUE }));
    const ready = await readyClaim(ns, "agent", 30_000);
    expect((ready.status?.["sandbox"] as { name: string }).name).toBe(memberName);
    const podAfter = await kube.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: memberName });
    expect(podAfter.metadata?.uid).toBe(pod.metadata?.uid);

    const { token } = await new ExecdTokenSigner(execdTokenKey.privateKey).sign(identity);
    const res = await fetch(`${execd.url}/v1/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ language: "python", code: "import os\nprint(os.environ['API_KEY'])" }),
    });
    expect(((await res.json()) as ExecuteAnswer).stdout.trim()).toBe(SECRET_VALUE);

    // The value is in the Secret and the execution server only.
    const events = await kube.list<Obj>({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: ns });
    const written = JSON.stringify([
      await getClaim(ns, "agent"),
      podAfter,
      await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: memberName }),
      events.items,
    ]);
    expect(written).not.toContain(SECRET_VALUE);
    expect(execd.logs.join("\n")).not.toContain(SECRET_VALUE);
  });
});

describe("an operator without an environment key: upstream's cold start with the env in the pod", () => {
  let operator: RunningOperator;
  beforeAll(async () => {
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator?.stop();
  });

  it("names the missing Secret, then starts a pod whose container refers to the Secret, not its value", async () => {
    const ns = await freshNamespace("claim-pod-env");
    await kube.create(templateManifest(ns, "python", { envVarsInjectionPolicy: "Allowed" }));
    await kube.create(poolManifest(ns, "python-pool", "python", 0));
    await kube.create(claimManifest(ns, "agent", "python-pool", { env: secretEnv }));
    await claimReason(ns, "agent", "EnvSecretNotFound");
    expect((await kube.list<Obj>({ apiVersion: SB, kind: "Sandbox" }, { namespace: ns })).items).toEqual([]);

    await kube.create(secretManifest(ns, "api", { token: SECRET_VALUE }));
    const ready = await readyClaim(ns, "agent", 40_000);
    const name = (ready.status?.["sandbox"] as { name: string }).name;
    expect(name).toBe("agent");
    const pod = await kube.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name });
    expect(pod.spec?.containers.find((c) => c.name === "main")?.env).toEqual(
      expect.arrayContaining([{ name: "API_KEY", valueFrom: { secretKeyRef: { name: "api", key: "token" } } }]),
    );
    expect(JSON.stringify(pod)).not.toContain(SECRET_VALUE);
  });
});
