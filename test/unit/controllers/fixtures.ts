// Builders for the controllers' unit tests. Objects go through the real zod schemas, so
// defaults (operatingMode, policies) are the ones the operator sees from the API server.
import type { V1OwnerReference } from "@kubernetes/client-node";
import {
  LabelKeys,
  SandboxClaimSchema,
  SandboxSchema,
  SandboxTemplateSchema,
  SandboxWarmPoolSchema,
  type SandboxClaim,
  type SandboxClaimInput,
  type SandboxInput,
  type SandboxTemplate,
  type SandboxTemplateInput,
} from "../../../src/api/index.js";
import { defaultOperatorConfig, type OperatorConfig } from "../../../src/config/operator-config.js";
import type { Named } from "../../../src/controllers/shared/named.js";
import { nameHash } from "../../../src/controllers/shared/name-hash.js";

/** A config whose values differ from the shipped defaults, so tests see that the config is used. */
export const testConfig: OperatorConfig = {
  ...defaultOperatorConfig,
  defaultRuntimeClassName: "gvisor-test",
  execdImage: "example.test/execd:1",
  execPort: 7777,
  execdTrustedKeys: ["key-one", "key-two"],
  routerNamespace: "router-ns",
  routerPodLabels: { app: "router", tier: "edge" },
  defaultRunAsUser: 4321,
};

export const owner: V1OwnerReference = {
  apiVersion: "agents.x-k8s.io/v1beta1",
  kind: "Sandbox",
  name: "sb",
  uid: "uid-sb",
  controller: true,
  blockOwnerDeletion: true,
};

/** A warm pool's controller reference, as the pool puts it on its members. */
export const poolOwner: V1OwnerReference = {
  apiVersion: "extensions.agents.x-k8s.io/v1beta1",
  kind: "SandboxWarmPool",
  name: "pool",
  uid: "uid-pool",
  controller: true,
  blockOwnerDeletion: true,
};

type SandboxOverrides = {
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec?: Partial<SandboxInput["spec"]>;
};

export function makeSandbox(o: SandboxOverrides = {}): Named<ReturnType<typeof SandboxSchema.parse>> {
  const parsed = SandboxSchema.parse({
    apiVersion: "agents.x-k8s.io/v1beta1",
    kind: "Sandbox",
    metadata: {
      name: o.name ?? "sb",
      namespace: "ns",
      uid: "uid-sb",
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      podTemplate: { spec: { containers: [{ name: "main", image: "busybox" }] } },
      ...o.spec,
    },
  } satisfies SandboxInput);
  return parsed as Named<typeof parsed>;
}

export function makeTemplate(spec: Partial<SandboxTemplateInput["spec"]> = {}, name = "tmpl"): Named<SandboxTemplate> {
  const parsed = SandboxTemplateSchema.parse({
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxTemplate",
    metadata: { name, namespace: "ns", uid: "uid-tmpl" },
    spec: {
      podTemplate: {
        metadata: { labels: { app: "agent" } },
        spec: {
          containers: [
            { name: "main", image: "python:3", env: [{ name: "MODE", value: "template" }] },
            { name: "helper", image: "busybox" },
          ],
        },
      },
      ...spec,
    },
  } satisfies SandboxTemplateInput);
  return parsed as Named<SandboxTemplate>;
}

export function makeClaim(spec: Partial<SandboxClaimInput["spec"]> = {}, status?: SandboxClaimInput["status"]): SandboxClaim {
  return SandboxClaimSchema.parse({
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxClaim",
    metadata: { name: "claim", namespace: "ns", uid: "uid-claim" },
    spec: { warmPoolRef: { name: "pool" }, ...spec },
    ...(status ? { status } : {}),
  } satisfies SandboxClaimInput);
}

/** The warm pool `poolOwner` names, of `makeTemplate()`'s template, as the API server holds it. */
export function makePool(replicas: number) {
  return SandboxWarmPoolSchema.parse({
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxWarmPool",
    metadata: { name: poolOwner.name, namespace: "ns", uid: poolOwner.uid, generation: 1, resourceVersion: "10" },
    spec: { replicas, sandboxTemplateRef: { name: "tmpl" } },
  });
}

/** A member of `makePool`'s pool, built from its template (so a claim may adopt it), Ready unless told otherwise. */
export function makePoolMember(name: string, ready = true) {
  const labels = { [LabelKeys.WarmPoolSandbox]: nameHash(poolOwner.name), [LabelKeys.SandboxTemplateRefHash]: nameHash("tmpl") };
  const sb = makeSandbox({ name, labels });
  const condition = {
    type: "Ready",
    status: ready ? "True" : "False",
    reason: ready ? "DependenciesReady" : "PodNotReady",
    message: "",
    lastTransitionTime: "2025-12-31T23:00:00Z",
    observedGeneration: 1,
  };
  return {
    ...sb,
    metadata: {
      ...sb.metadata,
      uid: `uid-${name}`,
      resourceVersion: `rv-${name}`,
      ownerReferences: [poolOwner],
      creationTimestamp: "2025-12-31T23:00:00Z",
    },
    status: { conditions: [condition], podIPs: ["10.244.0.7"] },
  };
}
