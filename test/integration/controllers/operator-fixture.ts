// Runs the real operator in-process against the integration tier's API server, and builds
// manifests that schedule onto the kwok fake node (kwok drives their pods to Running/Ready).
import type { KeyObject } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { defaultOperatorConfig, type OperatorConfig } from "../../../src/config/operator-config.js";
import { buildOperator } from "../../../src/operator/build-operator.js";
import { createLogger, isAlreadyExists, type Kube, type Manager } from "../../../src/runtime/index.js";
import type { ControllerDeps } from "../../../src/controllers/deps.js";
import { FAKE_NODE_TOLERATION, testKube, testKubeConfig, waitFor } from "../harness/cluster.js";
import { execdTrustedKey } from "../harness/execd-token-key.js";

export const testConfig: OperatorConfig = {
  ...defaultOperatorConfig,
  execdImage: "agent-sandbox/runtime:test",
  execdTrustedKeys: [execdTrustedKey],
};

export interface RunningOperator {
  manager: Manager;
  deps: ControllerDeps;
  registry: Registry;
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The RuntimeClass admission plugin rejects pods naming a class that does not exist. */
export async function ensureRuntimeClass(kube: Kube, name = "gvisor"): Promise<void> {
  try {
    await kube.create({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name }, handler: "runsc" } as KubernetesObject);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

export async function startOperator(config: OperatorConfig = testConfig, envSigningKey?: KeyObject): Promise<RunningOperator> {
  await ensureRuntimeClass(testKube());
  const { manager, deps, registry } = buildOperator({
    kubeConfig: testKubeConfig(),
    config,
    envSigningKey,
    logger: createLogger({ level: process.env["LOG_LEVEL"] ?? "warn" }),
    healthServer: false,
  });
  const done = manager.start();
  // Fail fast (not at the first waitFor) if the caches cannot sync.
  done.catch(() => undefined);
  for (let i = 0; i < 300 && !manager.isReady(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!manager.isReady()) throw new Error("operator did not become ready (caches not synced)");
  return { manager, deps, registry, done, stop: () => manager.stop() };
}

/** A pod template that schedules onto the kwok fake node. */
export function fakeNodePodTemplate(extra: { labels?: Record<string, string>; env?: { name: string; value: string }[] } = {}) {
  return {
    metadata: { labels: { app: "agent", ...extra.labels } },
    spec: {
      tolerations: [{ ...FAKE_NODE_TOLERATION }],
      containers: [
        {
          name: "main",
          image: "agent-sandbox/runtime:test",
          command: ["sleep", "infinity"],
          ports: [{ containerPort: 9000, name: "app" }],
          ...(extra.env ? { env: extra.env } : {}),
        },
      ],
    },
  };
}

export function sandboxManifest(namespace: string, name: string, spec: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: "agents.x-k8s.io/v1beta1",
    kind: "Sandbox",
    metadata: { name, namespace },
    spec: { podTemplate: fakeNodePodTemplate(), ...spec },
  } as KubernetesObject;
}

export function templateManifest(namespace: string, name: string, spec: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxTemplate",
    metadata: { name, namespace },
    spec: { podTemplate: fakeNodePodTemplate(), ...spec },
  } as KubernetesObject;
}

export function poolManifest(
  namespace: string,
  name: string,
  template: string,
  replicas: number,
  extra: Record<string, unknown> = {},
): KubernetesObject {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxWarmPool",
    metadata: { name, namespace },
    spec: { replicas, sandboxTemplateRef: { name: template }, ...extra },
  } as KubernetesObject;
}

export function claimManifest(namespace: string, name: string, pool: string, spec: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxClaim",
    metadata: { name, namespace },
    spec: { warmPoolRef: { name: pool }, ...spec },
  } as KubernetesObject;
}

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export function condition(obj: unknown, type: string): Cond | undefined {
  const conditions = (obj as { status?: { conditions?: Cond[] } }).status?.conditions ?? [];
  return conditions.find((c) => c.type === type);
}

/** Waits until the claim's Ready condition is True and returns the claim as read then. */
export function waitClaimReady(
  kube: Kube,
  namespace: string,
  name: string,
  timeoutMs = 60_000,
): Promise<KubernetesObject & { status?: Record<string, unknown> }> {
  return waitFor(
    async () => {
      const c = await kube.get<KubernetesObject & { status?: Record<string, unknown> }>({
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxClaim",
        namespace,
        name,
      });
      return condition(c, "Ready")?.status === "True" ? c : undefined;
    },
    { timeoutMs, message: `claim ${name} Ready` },
  );
}

/** Waits until the pool's status counts `replicas` Ready members. */
export function waitPoolReady(
  kube: Kube,
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs = 60_000,
): Promise<KubernetesObject> {
  return waitFor(
    async () => {
      const p = await kube.get<KubernetesObject & { status?: Record<string, unknown> }>({
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxWarmPool",
        namespace,
        name,
      });
      return p.status?.["readyReplicas"] === replicas ? p : undefined;
    },
    { timeoutMs, message: `pool ${name} ${replicas} Ready` },
  );
}
