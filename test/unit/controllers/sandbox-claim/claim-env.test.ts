// A claim's env, through the claim reconciler (in-memory caches and API server) to a real
// execution server's environment endpoint (its HTTP stack, auth and contexts, in process): warm
// delivery, Secrets read by GET, the template's policy, and pod mode.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperatorKeys, SandboxClaimReason, type SandboxClaimInput } from "../../../../src/api/index.js";
import { HttpEnvDelivery } from "../../../../src/controllers/sandbox-claim/env-delivery.js";
import { makeClaimReconciler } from "../../../../src/controllers/sandbox-claim/reconciler.js";
import { ContextManager } from "../../../../src/execd/contexts/context-manager.js";
import { RequestAuth } from "../../../../src/execd/http/auth.js";
import { createExecdServer } from "../../../../src/execd/server.js";
import { ENV_TOKEN_SCOPE, encodePublicKey, ExecdTokenVerifier, keyIdOfEncoded } from "../../../../src/execd-token/index.js";
import { ConflictError, type ReconcileResult } from "../../../../src/runtime/index.js";
import { makeClaim, makePool, makePoolMember, makeTemplate, testConfig } from "../fixtures.js";
import { reconcilerWorld, type ReconcilerWorld } from "../reconciler-harness.js";

const NS = "ns";
const NOW = new Date("2026-01-01T12:00:00Z");
const SECRET_VALUE = "s3cret-value-9f8e7d";
const operatorKey = generateKeyPairSync("ed25519");
const pooled = makePoolMember("pool-a");
/** A numeric resourceVersion, as the API server's: the caches then show the adoption to a second pass. */
const member = { ...pooled, metadata: { ...pooled.metadata, resourceVersion: "5" }, status: { ...pooled.status, podIPs: ["127.0.0.1"] } };
const operatorPublicKey = encodePublicKey(operatorKey.publicKey);
/** pool-a's pod: created by an operator whose environment key was `envKey` (if any). */
const memberPod = (envKey: string | undefined) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "pool-a",
    namespace: NS,
    uid: "uid-pod-pool-a",
    annotations: envKey ? { [OperatorKeys.EnvKeys]: keyIdOfEncoded(envKey) } : {},
  },
  spec: { containers: [{ name: "main", image: "python:3" }] },
});

/** The execution server of pool-a, as its pod would run it: it trusts the operator's key for env only. */
let execd: { port: number; contexts: ContextManager; logs: string[]; close(): Promise<void> };

async function startExecdFor(identity: { namespace: string; name: string; uid: string }) {
  const logs: string[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const workspace = await mkdtemp(path.join(os.tmpdir(), "claim-env-ws-"));
  const contexts = new ContextManager({
    workspace,
    scratchDir: workspace,
    interpreters: { python: "python3", node: process.execPath, bash: "bash" },
    env: {},
    logger,
    interruptGraceMs: 1000,
  });
  const auth = new RequestAuth({
    verifier: new ExecdTokenVerifier([], identity),
    envVerifier: new ExecdTokenVerifier([operatorKey.publicKey], identity, ENV_TOKEN_SCOPE),
  });
  const server = createExecdServer(
    {
      contexts,
      workspaceReal: workspace,
      maxBytes: 1024,
      maxOutputBytes: 1024,
      maxJsonBytes: 4096,
      scratchDir: workspace,
      defaultTimeoutMs: 1000,
      commandTimeoutMs: 1000,
      shell: "bash",
      logger,
    },
    auth,
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    contexts,
    logs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  execd = await startExecdFor({ namespace: NS, name: "pool-a", uid: "uid-pool-a" });
});
afterAll(async () => {
  await execd.close();
});

const secret = (data: Record<string, string>, name = "api") => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: NS, uid: `uid-secret-${name}` },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
});

type ClaimEnv = NonNullable<SandboxClaimInput["spec"]["env"]>;
const literal: ClaimEnv = [{ name: "GREETING", value: "hello" }];
const fromSecret: ClaimEnv = [{ name: "API_KEY", valueFrom: { secretKeyRef: { name: "api", key: "token" } } }];

function claimWith(env: ClaimEnv) {
  const c = makeClaim({ env });
  return { ...c, metadata: { ...c.metadata, resourceVersion: "3", generation: 1, creationTimestamp: "2026-01-01T11:59:59Z" } };
}

/** A world whose operator delivers env (it has a key; pool-a's server listens on execd.port). */
function world(
  env: ClaimEnv,
  o: { template?: ReturnType<typeof makeTemplate>; secrets?: object[]; delivery?: boolean; podKey?: string } = {},
): { w: ReconcilerWorld; logs: string[] } {
  const w = reconcilerWorld({
    config: { ...testConfig, execPort: execd.port, execdEnvTrustedKeys: o.delivery === false ? [] : [operatorPublicKey] },
    now: NOW,
    cached: {
      claims: [claimWith(env)],
      pools: [makePool(1)],
      templates: [o.template ?? makeTemplate({ envVarsInjectionPolicy: "Allowed" })],
      sandboxes: [member],
      pods: [memberPod("podKey" in o ? o.podKey : operatorPublicKey)],
    },
  });
  w.kube.preload(...(o.secrets ?? []));
  if (o.delivery !== false) w.deps.envDelivery = new HttpEnvDelivery(operatorKey.privateKey);
  const logs: string[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const ctx = w.ctx;
  w.ctx = (namespace, name) => ({ ...ctx(namespace, name), log });
  return { w, logs };
}

async function reconcile(w: ReconcilerWorld): Promise<ReconcileResult> {
  return makeClaimReconciler(w.deps)(`${NS}/claim`, w.ctx(NS, "claim"));
}

const lastStatus = (w: ReconcilerWorld) =>
  w.kube.writes.filter((x) => x.verb === "applyStatus").at(-1)?.body as
    { status: { conditions: Array<{ type: string; status: string; reason: string; message: string }> } } | undefined;
const ready = (w: ReconcilerWorld) => lastStatus(w)?.status.conditions.find((c) => c.type === "Ready");
const sandboxWrites = (w: ReconcilerWorld) => w.kube.writes.filter((x) => x.kind === "Sandbox").map((x) => `${x.verb} ${x.name}`);
/** Everything the reconciler wrote, recorded or logged: no value may be in it. */
const everything = (w: ReconcilerWorld, logs: string[]) => JSON.stringify([w.kube.writes, w.events.events, logs]);

describe("claim env delivered to a warm sandbox's execution server", () => {
  it.each([
    ["a literal value", literal, { GREETING: "hello" }],
    ["a Secret's key", fromSecret, { API_KEY: SECRET_VALUE }],
  ])("adopts the warm member (no new Sandbox), hands %s to its server, then reports Ready", async (_what, env, expected) => {
    const { w, logs } = world(env, { secrets: [secret({ token: SECRET_VALUE })] });
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual(["patch pool-a"]);
    expect(ready(w)).toMatchObject({ status: "True" });
    expect(execd.contexts.kernelEnv).toMatchObject(expected);
    expect(everything(w, logs)).not.toContain(SECRET_VALUE);
    expect(logs.join("")).toContain(Object.keys(expected)[0]);
    // The pod spec of the adopted member is not touched with env.
    expect(JSON.stringify(w.kube.writes[0]?.body)).not.toContain("API_KEY");
  });

  it("names the missing Secret and holds its warm sandbox not Ready, retries, and is Ready once the Secret exists", async () => {
    const { w, logs } = world(fromSecret);
    execd.contexts.setSessionEnv({ API_KEY: "not-delivered-yet" });
    expect(await reconcile(w)).toEqual({ requeueAfter: 10_000 });
    // The Secret was read while the member was adopted; the claim keeps it, not Ready, and says why.
    expect(sandboxWrites(w)).toEqual(["patch pool-a"]);
    expect(ready(w)).toMatchObject({ status: "False", reason: SandboxClaimReason.EnvSecretNotFound });
    expect(ready(w)?.message).toContain('Secret "api" not found');
    expect(w.events.events).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "Warning", reason: SandboxClaimReason.EnvSecretNotFound })]),
    );
    expect(execd.contexts.kernelEnv["API_KEY"]).toBe("not-delivered-yet");

    w.kube.preload(secret({ token: SECRET_VALUE }));
    await reconcile(w);
    // No second sandbox: the same one, now with its env.
    expect(sandboxWrites(w)).toEqual(["patch pool-a"]);
    expect(ready(w)).toMatchObject({ status: "True" });
    expect(execd.contexts.kernelEnv["API_KEY"]).toBe(SECRET_VALUE);
    expect(everything(w, logs)).not.toContain(SECRET_VALUE);
  });

  it("names a missing key of an existing Secret", async () => {
    const { w } = world(fromSecret, { secrets: [secret({ other: SECRET_VALUE })] });
    await reconcile(w);
    expect(ready(w)).toMatchObject({ status: "False", reason: SandboxClaimReason.EnvSecretNotFound });
    expect(ready(w)?.message).toContain('Secret "api" has no key "token"');
    expect(ready(w)?.message).not.toContain(SECRET_VALUE);
  });

  it("keeps the claim not Ready while the server cannot be reached, and retries", async () => {
    const { w, logs } = world(fromSecret, { secrets: [secret({ token: SECRET_VALUE })] });
    w.deps.config = { ...w.deps.config, execPort: 1 };
    expect(await reconcile(w)).toEqual({ requeueAfter: 5_000 });
    expect(sandboxWrites(w)).toEqual(["patch pool-a"]);
    expect(ready(w)).toMatchObject({ status: "False", reason: SandboxClaimReason.EnvNotDelivered });
    expect(everything(w, logs)).not.toContain(SECRET_VALUE);
  });

  it("is refused by a server that trusts another key (a token the operator did not sign opens nothing)", async () => {
    const { w } = world(literal);
    w.deps.envDelivery = new HttpEnvDelivery(generateKeyPairSync("ed25519").privateKey);
    await reconcile(w);
    expect(ready(w)).toMatchObject({ status: "False", reason: SandboxClaimReason.EnvNotDelivered });
    expect(ready(w)?.message).toContain("HTTP 401");
  });
});

describe("delivering again", () => {
  it("does not deliver twice to the same server, and delivers again after the Sandbox was not Ready for a while (a restarted server)", async () => {
    const { w } = world(literal);
    // One reconciler throughout, as the controller has: it remembers what it delivered.
    const reconciler = makeClaimReconciler(w.deps);
    const pass = () => reconciler(`${NS}/claim`, w.ctx(NS, "claim"));
    await pass();
    expect(ready(w)).toMatchObject({ status: "True" });
    // The server lost its variables (as a restarted one has), with the Sandbox Ready throughout.
    execd.contexts.setSessionEnv({ GREETING: "lost" });
    await pass();
    expect(execd.contexts.kernelEnv["GREETING"]).toBe("lost");
    // Its Ready condition moved: not Ready, then Ready again.
    const cached = w.deps.caches.sandboxes.get(NS, "pool-a")!;
    const flapped = structuredClone(cached);
    flapped.metadata.resourceVersion = "999";
    flapped.status!.conditions = flapped.status!.conditions!.map((c) =>
      c.type === "Ready" ? { ...c, lastTransitionTime: "2026-01-01T12:30:00Z" } : c,
    );
    (w.deps.caches.sandboxes as unknown as { observe(o: object): void }).observe(flapped);
    await pass();
    expect(execd.contexts.kernelEnv["GREETING"]).toBe("hello");
  });
});

describe("the request opened while the member is adopted", () => {
  it("sends nothing to a member whose adoption was lost (409): the claim starts cold, the member's server never sees the value", async () => {
    const value = "lost-race-value-31c2";
    const { w } = world([{ name: "LOST_RACE", value }]);
    w.kube.failNext("patch", "Sandbox", new ConflictError("PATCH", "(test)", 409, { reason: "Conflict" }));
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual(["patch pool-a", "create claim"]);
    // Give the aborted request time to reach the server, were anything of it still going.
    await new Promise((r) => setTimeout(r, 200));
    expect(execd.contexts.kernelEnv["LOST_RACE"]).toBeUndefined();
    expect(execd.logs.join("")).not.toContain(value);
  });
});

describe("warm members that cannot take delivered env", () => {
  it.each([
    ["started before the operator had a key", undefined],
    ["trusting another key", "c29tZS1vdGhlci1rZXk="],
  ])("a member %s is passed over: the claim starts cold", async (_what, podKey) => {
    const { w } = world(literal, { podKey });
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual(["create claim"]);
    // The cold Sandbox gets no env in its spec either: it is delivered once it is Ready.
    expect(JSON.stringify(w.kube.writes.find((x) => x.verb === "create")?.body)).not.toContain("GREETING");
  });
});

describe("the template's envVarsInjectionPolicy, whichever way env is delivered", () => {
  it.each([true, false])("Disallowed refuses the claim (operator delivers env: %s)", async (delivery) => {
    const { w } = world(literal, { template: makeTemplate({ envVarsInjectionPolicy: "Disallowed" }), delivery });
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual([]);
    expect(ready(w)).toMatchObject({ status: "False", reason: SandboxClaimReason.EnvVarsInjectionRejected });
  });

  it.each([true, false])("Allowed refuses overriding a variable the template's container sets (delivers: %s)", async (delivery) => {
    const { w } = world([{ name: "MODE", value: "claim" }], { delivery });
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual([]);
    expect(ready(w)?.message).toContain('"MODE" is defined by the template');
  });

  it("Overrides may override it", async () => {
    const { w } = world([{ name: "MODE", value: "claim" }], { template: makeTemplate({ envVarsInjectionPolicy: "Overrides" }) });
    await reconcile(w);
    expect(ready(w)).toMatchObject({ status: "True" });
    expect(execd.contexts.kernelEnv).toMatchObject({ MODE: "claim" });
  });
});

describe("pod mode: env in the container's spec, cold start", () => {
  const servesItsOwnApi = makeTemplate({
    envVarsInjectionPolicy: "Allowed",
    podTemplate: {
      spec: { containers: [{ name: "runtime", image: "python-runtime-sandbox", ports: [{ containerPort: 0, protocol: "TCP" }] }] },
    },
  });

  function podModeTemplates(): Array<[string, ReturnType<typeof makeTemplate>]> {
    const own = structuredClone(servesItsOwnApi);
    own.spec.podTemplate.spec.containers[0]!.ports = [{ containerPort: execd.port, protocol: "TCP" }];
    const annotated = makeTemplate({ envVarsInjectionPolicy: "Allowed" });
    annotated.metadata.annotations = { [OperatorKeys.EnvDelivery]: "pod" };
    return [
      ["a template whose pod serves its own execution API", own],
      ["a template annotated for env in the pod", annotated],
    ];
  }

  it("for each pod-mode template: a Secret becomes a secretKeyRef in the pod, the value never leaves the Secret", async () => {
    for (const [what, template] of podModeTemplates()) {
      const { w, logs } = world([...literal, ...fromSecret], { template, secrets: [secret({ token: SECRET_VALUE })] });
      await reconcile(w);
      expect(sandboxWrites(w), what).toEqual(["create claim"]);
      const created = w.kube.writes.find((x) => x.verb === "create")?.body as {
        spec: { podTemplate: { spec: { containers: Array<{ env?: unknown[] }> } } };
      };
      expect(created.spec.podTemplate.spec.containers[0]?.env, what).toEqual(
        expect.arrayContaining([
          { name: "GREETING", value: "hello" },
          { name: "API_KEY", valueFrom: { secretKeyRef: { name: "api", key: "token" } } },
        ]),
      );
      expect(everything(w, logs), what).not.toContain(SECRET_VALUE);
    }
  });

  it("still names a missing Secret before any pod is started", async () => {
    const [, template] = podModeTemplates()[1]!;
    const { w } = world(fromSecret, { template });
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual([]);
    expect(ready(w)).toMatchObject({ status: "False", reason: SandboxClaimReason.EnvSecretNotFound });
  });

  it("is the mode of an operator without an environment key: upstream's cold start with env in the pod", async () => {
    const { w } = world(literal, { delivery: false });
    await reconcile(w);
    expect(sandboxWrites(w)).toEqual(["create claim"]);
  });
});
