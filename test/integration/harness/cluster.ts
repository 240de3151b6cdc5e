// Helpers for integration tests running against the harness control plane (global-setup.ts).
import { randomBytes } from "node:crypto";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { inject } from "vitest";
import { Kube } from "../../../src/runtime/kube.js";
import { createFakeNodeObject, type ClusterInfo } from "./control-plane.js";

export type { ClusterInfo } from "./control-plane.js";
export { FAKE_NODE_ANNOTATION } from "./control-plane.js";

/** Toleration that lets a pod schedule onto the kwok fake node (which is tainted). */
export const FAKE_NODE_TOLERATION = { key: "kwok.x-k8s.io/node", operator: "Equal", value: "fake", effect: "NoSchedule" } as const;

export function clusterInfo(): ClusterInfo {
  const info = inject("cluster");
  if (!info) throw new Error("no test cluster: run with `vitest --project integration` (global setup starts it)");
  return info;
}

/** Admin (system:masters) KubeConfig for the test cluster. */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterInfo().kubeconfig);
  return kc;
}

/** KubeConfig of an ordinary user ("alice" or "bob") with no RBAC grants, for authz tests. */
export function userKubeConfig(name: string): KubeConfig {
  const u = clusterInfo().users[name];
  if (!u) throw new Error(`unknown test user "${name}"; known: ${Object.keys(clusterInfo().users).join(", ")}`);
  const kc = new KubeConfig();
  kc.loadFromFile(u.kubeconfig);
  return kc;
}

/** Bearer token of a test user (e.g. to call the operator's router as that user). */
export function userToken(name: string): string {
  const u = clusterInfo().users[name];
  if (!u) throw new Error(`unknown test user "${name}"`);
  return u.token;
}

export function testKube(kc: KubeConfig = testKubeConfig()): Kube {
  return new Kube(kc);
}

/** Creates a namespace with a unique name `${prefix}-xxxxxx` and returns the name. */
export async function freshNamespace(prefix: string, kube: Kube = testKube()): Promise<string> {
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 50)
    .replace(/-+$/, "");
  const name = `${safe}-${randomBytes(3).toString("hex")}`;
  await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "agent-sandbox-ts/test": "true" } } });
  return name;
}

/**
 * Polls `fn` until it returns a truthy value (returned) or the timeout passes (throws with the
 * last error or value). For test assertions only; controllers never poll.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const end = Date.now() + timeoutMs;
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  const detail = lastErr ? `last error: ${String(lastErr)}` : `last value: ${JSON.stringify(last)}`;
  throw new Error(`waitFor${opts.message ? ` (${opts.message})` : ""} timed out after ${timeoutMs} ms; ${detail}`);
}

/**
 * Sets a pod's status to Running and Ready through /status, as envtest users do when no kubelet
 * runs. Use this for pods that are not on the kwok node.
 */
export async function markPodReady(
  kc: KubeConfig,
  namespace: string,
  name: string,
  opts: { podIP?: string; ready?: boolean } = {},
): Promise<KubernetesObject> {
  const kube = new Kube(kc, { fieldManager: "test-kubelet" });
  const pod = await kube.get<
    KubernetesObject & {
      spec?: {
        containers?: Array<{ name: string; image?: string }>;
        initContainers?: Array<{ name: string; image?: string; restartPolicy?: string }>;
      };
    }
  >({ apiVersion: "v1", kind: "Pod", namespace, name });
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const ready = opts.ready ?? true;
  const podIP = opts.podIP ?? `10.88.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const status = ready ? "True" : "False";
  const running = (c: { name: string; image?: string }): object => ({
    name: c.name,
    image: c.image ?? "",
    imageID: "",
    ready,
    restartCount: 0,
    started: true,
    state: { running: { startedAt: now } },
  });
  return kube.patch(
    { apiVersion: "v1", kind: "Pod", namespace, name },
    {
      status: {
        phase: "Running",
        podIP,
        podIPs: [{ ip: podIP }],
        hostIP: "10.244.0.1",
        startTime: now,
        conditions: [
          { type: "PodScheduled", status: "True", lastTransitionTime: now },
          { type: "Initialized", status: "True", lastTransitionTime: now },
          { type: "ContainersReady", status, lastTransitionTime: now },
          { type: "Ready", status, lastTransitionTime: now },
        ],
        // Restartable init containers (the execution server sidecar) report as running init containers.
        initContainerStatuses: (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always").map(running),
        containerStatuses: (pod.spec?.containers ?? []).map(running),
      },
    },
    { type: "strategic", subresource: "status" },
  );
}

/** Adds another kwok-managed fake node (e.g. for scale tests). Tainted unless taint=false. */
export async function createFakeNode(name: string, opts: { taint?: boolean; kube?: Kube } = {}): Promise<void> {
  await createFakeNodeObject(opts.kube ?? testKube(), name, opts.taint ?? true);
}
