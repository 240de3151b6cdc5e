// The router in-process against the integration tier's API server, next to the real operator.
//
// The pod network is simulated in this tier: kwok "runs" sandbox pods without starting their
// containers and gives them made-up IPs, so nothing listens at a pod IP. The router therefore
// gets an address mapper (its documented test seam) that sends each pod IP to a real
// `sandbox-execd` process on 127.0.0.1, started on first use with the identity and trusted keys
// the operator wrote into the pod's sidecar, exactly as that sidecar would be. Everything else
// (TokenReview, SubjectAccessReview, informers, claims, TTL writes) is the real thing. The e2e
// tier runs the router in front of real pods.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { KeyObject } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { buildRouter, type BuiltRouter } from "../../../src/router/build-router.js";
import { defaultRouterConfig, type RouterConfig } from "../../../src/router/config.js";
import type { PodAddress } from "../../../src/router/deps.js";
import { createLogger, type Kube } from "../../../src/runtime/index.js";
import { startExecd, type ExecdProcess } from "../../execd/harness.js";
import { testKube, testKubeConfig, waitFor } from "../harness/cluster.js";
import { execdTokenKey } from "../harness/execd-token-key.js";

export const SIGNING_KEY = Buffer.from("router-integration-test-signing-key-0123456789");

/** Pod IP -> a real execution server on loopback (see the note at the top of this file). */
export class SimulatedPodNetwork {
  readonly #kube: Kube;
  /** By serverKey. */
  readonly #servers = new Map<string, Promise<ExecdProcess>>();
  readonly #overrides = new Map<string, PodAddress>();
  /** Pod IPs whose pod ended (see retire), with that pod's uid. */
  readonly #retired = new Map<string, string>();
  /** Every dial the router made: lets tests see which pod IP and port it resolved. */
  readonly dials: Array<{ namespace: string; sandboxName: string; podIP: string; port: number }> = [];

  constructor(kube: Kube = testKube()) {
    this.#kube = kube;
  }

  /** Sends traffic for `podIP:port` to another local server (e.g. a header-recording echo). */
  override(podIP: string, port: number, to: PodAddress): void {
    this.#overrides.set(`${podIP}:${port}`, to);
  }

  clearOverride(podIP: string, port: number): void {
    this.#overrides.delete(`${podIP}:${port}`);
  }

  readonly map = async (t: { namespace: string; sandboxName: string; podIP: string; port: number }): Promise<PodAddress> => {
    this.dials.push(t);
    const override = this.#overrides.get(`${t.podIP}:${t.port}`);
    if (override) return override;
    // Only the execution server's port has a listener in a sandbox pod; any other port is refused.
    if (t.port !== 8888) return { host: "127.0.0.1", port: 9 };
    if (this.#retired.has(t.podIP) && !(await this.#newPodAt(t))) return { host: "127.0.0.1", port: 9 };
    let server = this.#servers.get(serverKey(t));
    if (!server) {
      server = this.#start(t.namespace, t.sandboxName);
      this.#servers.set(serverKey(t), server);
    }
    const execd = await server;
    return { host: "127.0.0.1", port: Number(new URL(execd.url).port) };
  };

  /**
   * Ends the pod at `podIP` as far as the network goes: its execution server stops, and dials to
   * that IP are refused until another pod of the sandbox (a new uid) has it. Pods here are
   * hand-run or kwok's, which reuses the IPs of deleted pods.
   */
  async retire(namespace: string, sandboxName: string, podIP: string): Promise<void> {
    const pod = await this.#kube.getOrUndefined({ apiVersion: "v1", kind: "Pod", namespace, name: sandboxName });
    this.#retired.set(podIP, pod?.metadata?.uid ?? "");
    const server = this.#servers.get(serverKey({ namespace, sandboxName, podIP }));
    this.#servers.delete(serverKey({ namespace, sandboxName, podIP }));
    if (server) await (await server).stop();
  }

  /** True (and the IP no longer retired) once a new pod of the sandbox has the retired IP. */
  async #newPodAt(t: { namespace: string; sandboxName: string; podIP: string }): Promise<boolean> {
    const pod = await this.#kube.getOrUndefined<KubernetesObject & { status?: { podIP?: string } }>({
      apiVersion: "v1",
      kind: "Pod",
      namespace: t.namespace,
      name: t.sandboxName,
    });
    if (!pod || pod.metadata?.uid === this.#retired.get(t.podIP) || pod.status?.podIP !== t.podIP) return false;
    this.#retired.delete(t.podIP);
    return true;
  }

  /** The execd process behind a pod IP (starting it if needed), e.g. to inspect its workspace. */
  async execdFor(namespace: string, sandboxName: string, podIP: string): Promise<ExecdProcess> {
    await this.map({ namespace, sandboxName, podIP, port: 8888 });
    this.dials.pop();
    const server = this.#servers.get(serverKey({ namespace, sandboxName, podIP }));
    if (!server) throw new Error(`no execd for ${podIP}`);
    return server;
  }

  async #start(namespace: string, sandboxName: string): Promise<ExecdProcess> {
    const pod = await this.#kube.get<V1Pod & KubernetesObject>({ apiVersion: "v1", kind: "Pod", namespace, name: sandboxName });
    return startExecd({ args: sidecarAuthArgs(pod) });
  }

  async stop(): Promise<void> {
    const all = await Promise.allSettled(this.#servers.values());
    await Promise.all(all.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    this.#servers.clear();
  }
}

/**
 * Which execution server a dial reaches: one per sandbox and pod IP. kwok hands a deleted pod's
 * IP to the next pod, and that pod's sandbox is another identity that needs its own server.
 */
function serverKey(t: { namespace: string; sandboxName: string; podIP: string }): string {
  return `${t.namespace}/${t.sandboxName}@${t.podIP}`;
}

/** The sidecar's --sandbox and --trusted-key arguments, as the operator wrote them into the pod. */
export function sidecarAuthArgs(pod: V1Pod): string[] {
  const sidecar = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd");
  if (!sidecar) throw new Error(`pod ${pod.metadata?.name} has no execution server sidecar`);
  const args = sidecar.args ?? [];
  const out = args.flatMap((arg, i) => (arg === "--sandbox" || arg === "--trusted-key" ? [arg, args[i + 1] ?? ""] : []));
  if (!out.includes("--sandbox")) throw new Error(`the sidecar of pod ${pod.metadata?.name} is not told its sandbox`);
  return out;
}

export interface RunningRouter {
  url: string;
  router: BuiltRouter;
  network: SimulatedPodNetwork;
  registry: Registry;
  /** Current value of a counter/gauge series, for assertions on metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startRouter(
  overrides: Partial<RouterConfig> = {},
  keys: { execdSigningKey?: KeyObject } = {},
): Promise<RunningRouter> {
  const network = new SimulatedPodNetwork();
  const registry = new Registry();
  const router = buildRouter({
    kubeConfig: testKubeConfig(),
    config: { ...defaultRouterConfig, ...overrides },
    logger: createLogger({ level: process.env["LOG_LEVEL"] ?? "warn", name: "sandbox-router" }),
    signingKey: SIGNING_KEY,
    execdSigningKey: keys.execdSigningKey ?? execdTokenKey.privateKey,
    healthServer: false,
    registry,
    mapAddress: network.map,
  });
  const done = router.manager.start();
  done.catch(() => undefined);
  await waitFor(() => router.manager.isReady(), { timeoutMs: 30_000, intervalMs: 50, message: "router caches synced" });
  await new Promise<void>((resolve) => router.server.listen(0, "127.0.0.1", resolve));
  const { port } = router.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    router,
    network,
    registry,
    async metric(name, labels = {}) {
      const m = registry.getSingleMetric(name);
      if (!m) throw new Error(`no metric ${name}`);
      const { values } = await m.get();
      return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0);
    },
    async stop() {
      router.server.closeAllConnections();
      await new Promise<void>((resolve) => router.server.close(() => resolve()));
      await router.manager.stop();
      await network.stop();
    },
  };
}

/** A Role + RoleBinding giving `user` what a sandbox user needs in `namespace`. */
export async function grantSandboxUser(kube: Kube, namespace: string, user: string): Promise<void> {
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: `sandbox-user-${user}`, namespace },
    rules: [
      { apiGroups: ["agents.x-k8s.io"], resources: ["sandboxes/exec"], verbs: ["create"] },
      { apiGroups: ["agents.x-k8s.io"], resources: ["sandboxes"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["extensions.agents.x-k8s.io"], resources: ["sandboxclaims"], verbs: ["get", "list", "watch", "create", "delete"] },
      { apiGroups: ["extensions.agents.x-k8s.io"], resources: ["sandboxwarmpools"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["extensions.agents.x-k8s.io"], resources: ["sandboxwarmpools/scale"], verbs: ["get", "update", "patch"] },
    ],
  } as KubernetesObject);
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `sandbox-user-${user}`, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `sandbox-user-${user}` },
    subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: user }],
  } as KubernetesObject);
}

/** A Role + RoleBinding giving `user` `patch` on Sandboxes in `namespace`: what suspend and resume need. */
export async function grantSandboxSuspend(kube: Kube, namespace: string, user: string): Promise<void> {
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: `sandbox-suspend-${user}`, namespace },
    rules: [{ apiGroups: ["agents.x-k8s.io"], resources: ["sandboxes"], verbs: ["patch"] }],
  } as KubernetesObject);
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `sandbox-suspend-${user}`, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `sandbox-suspend-${user}` },
    subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: user }],
  } as KubernetesObject);
}
