import type { KubernetesObject } from "@kubernetes/client-node";
import { SandboxClaimGVK, SandboxGVK, SandboxWarmPoolGVK } from "../api/index.js";
import { Informer, type Kube, type Logger } from "../runtime/index.js";
import type { ClaimObject, PoolObject, SandboxObject } from "../shared/sandbox/objects.js";

export type { ClaimObject, PoolObject, SandboxObject };

/** Read access to one cache by key: an Informer, or a plain store in tests. */
export interface CacheReader<T> {
  get(namespace: string | undefined, name: string): T | undefined;
}

export const RouterIndex = { PoolsByTemplate: "poolsByTemplate" } as const;

/**
 * What the router reads per request, kept in memory by list+watch so that resolving a
 * target never costs a DNS lookup or an API call. No Secrets: the router signs the
 * execution servers' tokens itself.
 */
export interface RouterCaches {
  sandboxes: Informer<SandboxObject>;
  claims: Informer<ClaimObject>;
  pools: Informer<PoolObject>;
}

export function createRouterCaches(kube: Kube, logger: Logger, namespace?: string): RouterCaches {
  const common = { kube, logger, ...(namespace ? { namespace } : {}) };
  return {
    sandboxes: new Informer<SandboxObject>({ ...common, apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind }),
    claims: new Informer<ClaimObject>({ ...common, apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind }),
    pools: new Informer<PoolObject>({
      ...common,
      apiVersion: SandboxWarmPoolGVK.apiVersion,
      kind: SandboxWarmPoolGVK.kind,
      indexers: { [RouterIndex.PoolsByTemplate]: (p) => [`${p.metadata?.namespace ?? ""}/${p.spec.sandboxTemplateRef.name}`] },
    }),
  };
}

export function routerInformers(c: RouterCaches): Informer<KubernetesObject>[] {
  return Object.values(c) as Informer<KubernetesObject>[];
}
