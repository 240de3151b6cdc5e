import { createHash } from "node:crypto";
import type { V1OwnerReference } from "@kubernetes/client-node";
import {
  AnnotationKeys,
  LabelKeys,
  NetworkPolicyManagement,
  SandboxGVK,
  type SandboxBlueprint,
  type SandboxInput,
  type SandboxTemplate,
} from "../../api/index.js";
import { networkPolicyAnnotation } from "./network-policy.js";
import { nameHash } from "./name-hash.js";

/** JSON with sorted keys, so equal blueprints hash equally whatever order the API server returns. */
function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJSON(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Identifies a template's blueprint, metadata included. A pool member carrying
 * the current hash is current; one that does not gets a closer look
 * (staleMemberCheck), since a metadata-only change does not make it stale.
 */
export function blueprintHash(template: SandboxTemplate): string {
  const blueprint: SandboxBlueprint = {
    podTemplate: template.spec.podTemplate,
    volumeClaimTemplates: template.spec.volumeClaimTemplates,
    service: template.spec.service,
  };
  return createHash("sha256").update(canonicalJSON(blueprint)).digest("hex").slice(0, 16);
}

export interface SandboxFromTemplateInput {
  name: string;
  namespace: string;
  template: SandboxTemplate & { metadata: { name: string } };
  owner: V1OwnerReference;
  labels: Record<string, string>;
  /** Overrides applied to the blueprint (claim env and volume claim templates). */
  blueprint?: SandboxBlueprint;
  /** The claim's idle timeout, which wins over the template's. */
  idleTimeout?: string | undefined;
}

/**
 * A Sandbox built from a template's blueprint, for a pool member or a cold
 * claim. The template's network-policy choice travels as an annotation so the
 * Sandbox controller knows whether to add its own deny-all policy, and so does
 * the idle timeout (the claim's, else the template's). Pure.
 */
export function sandboxFromTemplate(input: SandboxFromTemplateInput): SandboxInput & { metadata: { name: string; namespace: string } } {
  const { template } = input;
  const blueprint = input.blueprint ?? {
    podTemplate: template.spec.podTemplate,
    volumeClaimTemplates: template.spec.volumeClaimTemplates,
    service: template.spec.service,
  };
  const annotations: Record<string, string> = { [AnnotationKeys.SandboxTemplateRef]: template.metadata.name };
  if (template.spec.networkPolicyManagement === NetworkPolicyManagement.Unmanaged) {
    annotations[networkPolicyAnnotation] = NetworkPolicyManagement.Unmanaged;
  }
  const idleTimeout = input.idleTimeout ?? template.metadata.annotations?.[AnnotationKeys.IdleTimeout];
  if (idleTimeout !== undefined) annotations[AnnotationKeys.IdleTimeout] = idleTimeout;
  return {
    apiVersion: SandboxGVK.apiVersion,
    kind: SandboxGVK.kind,
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: {
        ...input.labels,
        [LabelKeys.SandboxTemplateRefHash]: nameHash(template.metadata.name),
        [LabelKeys.SandboxTemplateHash]: blueprintHash(template),
      },
      annotations,
      ownerReferences: [input.owner],
    },
    spec: {
      podTemplate: structuredClone(blueprint.podTemplate),
      ...(blueprint.volumeClaimTemplates ? { volumeClaimTemplates: structuredClone(blueprint.volumeClaimTemplates) } : {}),
      ...(blueprint.service !== undefined ? { service: blueprint.service } : {}),
    },
  };
}
