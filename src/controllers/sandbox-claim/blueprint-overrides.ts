import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import {
  EnvVarsInjectionPolicy,
  SandboxClaimMessage,
  SandboxClaimReason,
  type SandboxBlueprint,
  type SandboxClaim,
  type SandboxTemplate,
} from "../../api/index.js";
import { podEnvVar } from "./claim-env.js";
import type { EnvDeliveryMode } from "./env-delivery-mode.js";
import { mergeVolumeClaimTemplates } from "./volume-claim-templates.js";

export type OverrideResult = { ok: true; blueprint: SandboxBlueprint } | { ok: false; reason: string; message: string };

/** Upstream's error text every env refusal starts with; the detail after it names the field. */
const envRejected = SandboxClaimMessage.EnvVarsInjectionRejectedPrefix;

/**
 * The blueprint a cold-started claim gets: the template's, with the claim's
 * env, volume claim templates and pod metadata merged in as the template's
 * policies allow. Pure; a refusal's message starts with upstream's error text for the case
 * and then names the offending field, except for volume claim templates, whose message is
 * upstream's whole (see volume-claim-templates.ts). The template's own volume claim templates
 * are not checked here: a claim that brings none may still be adopted warm.
 *
 * The env is checked against the template's policy in either mode, but written into the
 * container only in "pod" mode; in "execd" mode the operator hands it to the execution server
 * of the sandbox instead, so no value ever lands in a pod spec.
 */
export function blueprintForClaim(claim: SandboxClaim, template: SandboxTemplate, envMode: EnvDeliveryMode = "pod"): OverrideResult {
  const blueprint: SandboxBlueprint = structuredClone({
    podTemplate: template.spec.podTemplate,
    volumeClaimTemplates: template.spec.volumeClaimTemplates,
    service: template.spec.service,
  });

  // Checked first, as upstream's createSandbox merges these before the pod metadata and env.
  const claimVCTs = claim.spec.volumeClaimTemplates ?? [];
  if (claimVCTs.length > 0) {
    const merged = mergeVolumeClaimTemplates(template.spec.volumeClaimTemplates ?? [], claimVCTs, template.spec.volumeClaimTemplatesPolicy);
    if (!merged.ok) return refuse(merged.reason, merged.message);
    blueprint.volumeClaimTemplates = merged.volumeClaimTemplates;
  }

  const extra = claim.spec.additionalPodMetadata;
  if (extra?.labels || extra?.annotations) {
    const metadata = blueprint.podTemplate.metadata ?? {};
    for (const [k, v] of Object.entries(extra.labels ?? {})) {
      const current = metadata.labels?.[k];
      if (current !== undefined && current !== v) {
        return refuse(
          SandboxClaimReason.InvalidMetadata,
          `${SandboxClaimMessage.InvalidMetadataPrefix}: spec.additionalPodMetadata.labels["${k}"]: the template sets it to "${current}"`,
        );
      }
    }
    metadata.labels = { ...metadata.labels, ...extra.labels };
    metadata.annotations = { ...metadata.annotations, ...extra.annotations };
    blueprint.podTemplate.metadata = metadata;
  }

  const env = claim.spec.env ?? [];
  if (env.length > 0) {
    const policy = template.spec.envVarsInjectionPolicy ?? EnvVarsInjectionPolicy.Disallowed;
    if (policy === EnvVarsInjectionPolicy.Disallowed) {
      return refuse(
        SandboxClaimReason.EnvVarsInjectionRejected,
        `${envRejected}: spec.env is set but SandboxTemplate ${template.metadata.name} has envVarsInjectionPolicy Disallowed`,
      );
    }
    const containers = blueprint.podTemplate.spec.containers as V1Container[];
    for (const [i, e] of env.entries()) {
      const container = e.containerName ? containers.find((c) => c.name === e.containerName) : containers[0];
      if (!container) {
        return refuse(
          SandboxClaimReason.EnvVarsInjectionRejected,
          `${envRejected}: spec.env[${i}].containerName: no container named "${e.containerName}" in the template`,
        );
      }
      const vars: V1EnvVar[] = container.env ?? [];
      const existing = vars.findIndex((v) => v.name === e.name);
      if (existing >= 0 && policy !== EnvVarsInjectionPolicy.Overrides) {
        return refuse(
          SandboxClaimReason.EnvVarsInjectionRejected,
          `${envRejected}: spec.env[${i}].name: "${e.name}" is defined by the template; overriding it needs envVarsInjectionPolicy Overrides`,
        );
      }
      if (envMode !== "pod") continue;
      if (existing >= 0) vars[existing] = podEnvVar(e);
      else vars.push(podEnvVar(e));
      container.env = vars;
    }
  }
  return { ok: true, blueprint };
}

/**
 * Claims that change the pod's shape cannot take a pre-started pool member: volume claim
 * templates, and env when it goes into the pod spec. Env the execution server receives does not.
 */
export function forcesColdStart(claim: SandboxClaim, envMode: EnvDeliveryMode = "pod"): boolean {
  const podEnv = envMode === "pod" && (claim.spec.env?.length ?? 0) > 0;
  return podEnv || (claim.spec.volumeClaimTemplates?.length ?? 0) > 0;
}

function refuse(reason: string, message: string): OverrideResult {
  return { ok: false, reason, message };
}
