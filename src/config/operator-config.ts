import type { V1ResourceRequirements } from "@kubernetes/client-node";

/**
 * Cluster-wide defaults the operator applies to every sandbox unless the
 * Sandbox or its template sets the field deliberately. Set by the operator's
 * flags (see src/operator/flags.ts); the values here are the shipped defaults.
 */
export interface OperatorConfig {
  /** RuntimeClass given to sandbox pods that name none. Empty string disables the default. */
  defaultRuntimeClassName: string;
  /** Requests and limits given to each sandbox container that sets none of its own. */
  defaultResources: Required<Pick<V1ResourceRequirements, "requests" | "limits">>;
  /** Image of the execution server sidecar (sandbox-execd) injected into every sandbox pod. */
  execdImage: string;
  /** Port the execution server listens on (upstream runtimes use 8888). */
  execPort: number;
  /**
   * Public keys (base64 of the DER SubjectPublicKeyInfo) whose router-signed tokens every new
   * execution server accepts. Empty: new execution servers refuse every call. A pod keeps the
   * keys it was created with; changing them does not recreate running sandboxes.
   */
  execdTrustedKeys: string[];
  /**
   * Public keys (same form) whose operator-signed environment tokens every new execution server
   * accepts on its environment endpoint only. Set from the operator's own environment key; empty
   * when it has none, and claims with env then get it in the pod spec (cold start).
   */
  execdEnvTrustedKeys: string[];
  /**
   * Namespace and pod labels of the operator: admitted to a sandbox's execution port (besides
   * the router) when it delivers claims' env there, that is when execdEnvTrustedKeys is set.
   */
  operatorNamespace: string;
  operatorPodLabels: Record<string, string>;
  /** Namespace and pod labels of the router: the only peer a sandbox accepts traffic from. */
  routerNamespace: string;
  routerPodLabels: Record<string, string>;
  /** DNS suffix used in status.serviceFQDN. */
  clusterDomain: string;
  /**
   * Size of the injected /workspace ('' for unbounded). gVisor serves the workspace as a tmpfs of
   * this size kept on disk, so a write past it fails with ENOSPC; the emptyDir's sizeLimit, 10%
   * above, is the kubelet's backstop (and the only bound on nodes that do not pass gVisor's
   * mount hints to runsc).
   */
  workspaceSizeLimit: string;
  /**
   * Size of the memory-backed emptyDir mounted at /tmp in the execution server's container
   * ('' mounts none). Without it gVisor gives /tmp a tmpfs as large as half the node's RAM,
   * and filling it kills the whole sandbox; with it, writes past the size fail with ENOSPC.
   */
  tmpSizeLimit: string;
  /**
   * Size of /dev/shm in sandboxes with the execution server ('' leaves gVisor's unsized one).
   * Memory-backed and shared by the pod's containers; writes past it fail with ENOSPC.
   */
  shmSizeLimit: string;
  /** UID and GID sandbox containers run as when the spec names none (non-root). */
  defaultRunAsUser: number;
  /** A warm-pool member not Ready after this long is replaced (unless unschedulable). */
  warmPoolReadinessGraceMs: number;
  /** How often an unschedulable warm-pool member is looked at again. */
  warmPoolUnschedulableRecheckMs: number;
}

export const defaultOperatorConfig: OperatorConfig = {
  defaultRuntimeClassName: "gvisor",
  defaultResources: {
    requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "256Mi" },
    limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "2Gi" },
  },
  execdImage: "agent-sandbox/runtime:0.1.0",
  execPort: 8888,
  execdTrustedKeys: [],
  execdEnvTrustedKeys: [],
  operatorNamespace: "agent-sandbox-system",
  operatorPodLabels: {},
  routerNamespace: "agent-sandbox-system",
  routerPodLabels: { app: "sandbox-router" },
  clusterDomain: "cluster.local",
  workspaceSizeLimit: "2Gi",
  tmpSizeLimit: "256Mi",
  shmSizeLimit: "64Mi",
  defaultRunAsUser: 1000,
  warmPoolReadinessGraceMs: 5 * 60_000,
  warmPoolUnschedulableRecheckMs: 60_000,
};
