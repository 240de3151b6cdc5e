import type { KubernetesObject, V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  LabelKeys,
  SandboxClaimGVK,
  SandboxGVK,
  SandboxTemplateGVK,
  SandboxWarmPoolGVK,
  type Sandbox,
  type SandboxClaim,
  type SandboxTemplate,
  type SandboxWarmPool,
} from "../../api/index.js";
import { controllerUIDIndex, Informer, labelIndex, type Kube, type Logger } from "../../runtime/index.js";
import { dropLastApplied, pruneService, prunePod, pruneToMetadata } from "./cache-prune.js";
import type { NetworkPolicy } from "./network-policy.js";

export const Index = {
  ByControllerUID: "byControllerUID",
  ByWarmPool: "byWarmPool",
  ByPoolRef: "byPoolRef",
  ByTemplateRef: "byTemplateRef",
} as const;

/**
 * Every child object the operator creates carries this label; the child watches
 * select on it so the caches never hold the cluster's other pods.
 */
export const managedByLabel = { "app.kubernetes.io/managed-by": "agent-sandbox-ts" } as const;
const childSelector = "app.kubernetes.io/managed-by=agent-sandbox-ts";

/**
 * The informer caches the controllers read from. One set is shared by all four
 * controllers, so each resource is listed and watched once per process.
 */
export interface Caches {
  sandboxes: Informer<Sandbox & KubernetesObject>;
  templates: Informer<SandboxTemplate & KubernetesObject>;
  claims: Informer<SandboxClaim & KubernetesObject>;
  pools: Informer<SandboxWarmPool & KubernetesObject>;
  pods: Informer<V1Pod>;
  services: Informer<V1Service>;
  networkPolicies: Informer<NetworkPolicy & KubernetesObject>;
  pvcs: Informer<V1PersistentVolumeClaim>;
}

export function createCaches(kube: Kube, logger: Logger, namespace?: string): Caches {
  // Every cache drops what no controller reads (cache-prune.ts names the read sites).
  const common = { kube, logger, prune: dropLastApplied, ...(namespace ? { namespace } : {}) };
  const child = { ...common, labelSelector: childSelector, indexers: { [Index.ByControllerUID]: controllerUIDIndex } };
  return {
    sandboxes: new Informer<Sandbox & KubernetesObject>({
      ...common,
      apiVersion: SandboxGVK.apiVersion,
      kind: SandboxGVK.kind,
      indexers: {
        [Index.ByControllerUID]: controllerUIDIndex,
        [Index.ByWarmPool]: labelIndex(LabelKeys.WarmPoolSandbox),
      },
    }),
    templates: new Informer<SandboxTemplate & KubernetesObject>({
      ...common,
      apiVersion: SandboxTemplateGVK.apiVersion,
      kind: SandboxTemplateGVK.kind,
    }),
    claims: new Informer<SandboxClaim & KubernetesObject>({
      ...common,
      apiVersion: SandboxClaimGVK.apiVersion,
      kind: SandboxClaimGVK.kind,
      indexers: { [Index.ByPoolRef]: (c) => [`${c.metadata.namespace ?? ""}/${c.spec.warmPoolRef.name}`] },
    }),
    pools: new Informer<SandboxWarmPool & KubernetesObject>({
      ...common,
      apiVersion: SandboxWarmPoolGVK.apiVersion,
      kind: SandboxWarmPoolGVK.kind,
      indexers: { [Index.ByTemplateRef]: (p) => [`${p.metadata.namespace ?? ""}/${p.spec.sandboxTemplateRef.name}`] },
    }),
    pods: new Informer<V1Pod>({ ...child, apiVersion: "v1", kind: "Pod", prune: prunePod }),
    services: new Informer<V1Service>({ ...child, apiVersion: "v1", kind: "Service", prune: pruneService }),
    networkPolicies: new Informer<NetworkPolicy & KubernetesObject>({
      ...child,
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
    }),
    pvcs: new Informer<V1PersistentVolumeClaim>({ ...child, apiVersion: "v1", kind: "PersistentVolumeClaim", prune: pruneToMetadata }),
  };
}

export function allInformers(c: Caches): Informer<KubernetesObject>[] {
  return Object.values(c) as Informer<KubernetesObject>[];
}
