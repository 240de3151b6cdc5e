import type { V1OwnerReference, V1Pod, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import { LabelKeys, OperatorKeys, RESERVED_KEY_PREFIXES, toV1PodSpec, type Sandbox as AnySandbox } from "../../api/index.js";
import { keyIdOfEncoded } from "../../execd-token/index.js";
import type { Named } from "../shared/named.js";

type Sandbox = Named<AnySandbox>;
import type { OperatorConfig } from "../../config/operator-config.js";
import { childLabels } from "../shared/child-labels.js";
import { withSecureDefaults } from "../shared/secure-pod-spec.js";
import { servesExecPort, withExecdSidecar, type ExecdRuntime } from "./execd-sidecar.js";
import { gvisorMountHints } from "./gvisor-mount-hints.js";

/** Sandbox labels the pod inherits so selectors on pool, template and claim reach it. */
const inheritedSandboxLabels = [
  LabelKeys.WarmPoolSandbox,
  LabelKeys.SandboxTemplateRefHash,
  LabelKeys.SandboxTemplateHash,
  LabelKeys.ClaimUID,
  LabelKeys.LaunchType,
] as const;

/** Opt out of the injected execution server on a Sandbox or pod template (value "false"). */
export const execdAnnotation = "agents.x-k8s.io/execd";
/** "template-image": run code with the template's own image and packages (see ExecdRuntime). */
export const execdRuntimeAnnotation = "agents.x-k8s.io/execd-runtime";

export function execdRuntime(sandbox: Sandbox): ExecdRuntime {
  const value =
    sandbox.metadata.annotations?.[execdRuntimeAnnotation] ?? sandbox.spec.podTemplate.metadata?.annotations?.[execdRuntimeAnnotation];
  return value === "template-image" ? "template-image" : "runtime";
}

export function isReservedKey(key: string): boolean {
  return RESERVED_KEY_PREFIXES.some((p) => key.startsWith(p));
}

function withoutReserved(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !isReservedKey(k)));
}

/** Labels and annotations the pod must carry (user keys minus reserved prefixes, plus ours). */
export function desiredPodMetadata(sandbox: Sandbox): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {
    ...withoutReserved(sandbox.spec.podTemplate.metadata?.labels),
    ...childLabels(sandbox.metadata.name),
  };
  for (const key of inheritedSandboxLabels) {
    const value = sandbox.metadata.labels?.[key];
    if (value !== undefined) labels[key] = value;
  }
  const annotations = withoutReserved(sandbox.spec.podTemplate.metadata?.annotations);
  // Only the operator says which environment keys a pod's server trusts, and only at creation.
  delete annotations[OperatorKeys.EnvKeys];
  return { labels, annotations };
}

export function wantsExecd(sandbox: Sandbox, spec: V1PodSpec, config: OperatorConfig): boolean {
  const optOut =
    sandbox.metadata.annotations?.[execdAnnotation] === "false" ||
    sandbox.spec.podTemplate.metadata?.annotations?.[execdAnnotation] === "false";
  return !optOut && !servesExecPort(spec, config.execPort);
}

/** PVC name for a volume claim template, as upstream (and StatefulSets) name them. */
export function pvcName(templateName: string, sandboxName: string): string {
  return `${templateName}-${sandboxName}`;
}

/**
 * The pod a Sandbox should have. Pure. Volumes named like a volume claim
 * template are replaced by the sandbox's PVC, as StatefulSets do. `previousPodEnd` says how the
 * pod this one replaces ended, which its execution server then tells the first calls.
 */
export function desiredPod(sandbox: Sandbox, owner: V1OwnerReference, config: OperatorConfig, previousPodEnd?: string): V1Pod {
  let spec: V1PodSpec = structuredClone(toV1PodSpec(sandbox.spec.podTemplate.spec));
  const claims = sandbox.spec.volumeClaimTemplates ?? [];
  if (claims.length > 0) {
    const claimVolumes: V1Volume[] = claims.map((t) => ({
      name: t.metadata?.name ?? "",
      persistentVolumeClaim: { claimName: pvcName(t.metadata?.name ?? "", sandbox.metadata.name) },
    }));
    const replaced = new Set(claimVolumes.map((v) => v.name));
    spec.volumes = [...(spec.volumes ?? []).filter((v) => !replaced.has(v.name)), ...claimVolumes];
  }
  let mountHints: Record<string, string> = {};
  let envKeys: Record<string, string> = {};
  if (wantsExecd(sandbox, spec, config)) {
    const { namespace, name, uid } = sandbox.metadata;
    const withSidecar = withExecdSidecar(spec, { namespace, name, uid }, config, execdRuntime(sandbox), previousPodEnd);
    spec = withSidecar.spec;
    mountHints = gvisorMountHints(withSidecar.sizedVolumes);
    if (config.execdEnvTrustedKeys.length > 0) {
      envKeys = { [OperatorKeys.EnvKeys]: config.execdEnvTrustedKeys.map(keyIdOfEncoded).join(",") };
    }
  }
  // Defaults last, so the injected execution server (where the untrusted code runs) gets them too.
  spec = withSecureDefaults(spec, config);
  const { labels, annotations } = desiredPodMetadata(sandbox);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: sandbox.metadata.name,
      namespace: sandbox.metadata.namespace,
      labels,
      // The hints last: the sizes of the volumes this operator adds are its own to set.
      annotations: { ...annotations, ...mountHints, ...envKeys },
      ownerReferences: [owner],
    },
    spec,
  };
}
