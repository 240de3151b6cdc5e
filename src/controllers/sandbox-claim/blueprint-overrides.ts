import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import {
  EnvVarsInjectionPolicy,
  SandboxClaimMessage,
  SandboxClaimReason,
  VolumeClaimTemplatesPolicy,
  type SandboxBlueprint,
  type SandboxClaim,
  type SandboxTemplate,
} from "../../api/index.js";

export type OverrideResult =
  | { ok: true; blueprint: SandboxBlueprint }
  | { ok: false; reason: string; message: string };

/** Upstream's error text every env refusal starts with; the detail after it names the field. */
const envRejected = SandboxClaimMessage.EnvVarsInjectionRejectedPrefix;

/**
 * The blueprint a cold-started claim gets: the template's, with the claim's
 * env, volume claim templates and pod metadata merged in as the template's
 * policies allow. Pure; a refusal's message starts with upstream's error text for the case
 * and then names the offending field.
 */
export function blueprintForClaim(claim: SandboxClaim, template: SandboxTemplate): OverrideResult {
  const blueprint: SandboxBlueprint = structuredClone({
    podTemplate: template.spec.podTemplate,
    volumeClaimTemplates: template.spec.volumeClaimTemplates,
    service: template.spec.service,
  });

  const env = claim.spec.env ?? [];
  if (env.length > 0) {
    const policy = template.spec.envVarsInjectionPolicy ?? EnvVarsInjectionPolicy.Disallowed;
    if (policy === EnvVarsInjectionPolicy.Disallowed) {
      return refuse(SandboxClaimReason.EnvVarsInjectionRejected, `${envRejected}: spec.env is set but SandboxTemplate ${template.metadata.name} has envVarsInjectionPolicy Disallowed`);
    }
    const containers = blueprint.podTemplate.spec.containers as V1Container[];
    for (const [i, e] of env.entries()) {
      const container = e.containerName ? containers.find((c) => c.name === e.containerName) : containers[0];
      if (!container) {
        return refuse(SandboxClaimReason.EnvVarsInjectionRejected, `${envRejected}: spec.env[${i}].containerName: no container named "${e.containerName}" in the template`);
      }
      const vars: V1EnvVar[] = container.env ?? [];
      const existing = vars.findIndex((v) => v.name === e.name);
      if (existing >= 0 && policy !== EnvVarsInjectionPolicy.Overrides) {
        return refuse(
          SandboxClaimReason.EnvVarsInjectionRejected,
          `${envRejected}: spec.env[${i}].name: "${e.name}" is defined by the template; overriding it needs envVarsInjectionPolicy Overrides`,
        );
      }
      if (existing >= 0) vars[existing] = { name: e.name, value: e.value };
      else vars.push({ name: e.name, value: e.value });
      container.env = vars;
    }
  }

  const claimVCTs = claim.spec.volumeClaimTemplates ?? [];
  if (claimVCTs.length > 0) {
    const policy = template.spec.volumeClaimTemplatesPolicy ?? VolumeClaimTemplatesPolicy.Disallowed;
    if (policy === VolumeClaimTemplatesPolicy.Disallowed) {
      return refuse(SandboxClaimReason.VolumeClaimTemplatesError, SandboxClaimMessage.VolumeClaimTemplatesDisallowed);
    }
    const merged = [...(blueprint.volumeClaimTemplates ?? [])];
    for (const [i, vct] of claimVCTs.entries()) {
      const name = vct.metadata?.name;
      const at = merged.findIndex((t) => t.metadata?.name === name);
      if (at >= 0 && policy !== VolumeClaimTemplatesPolicy.Overrides) {
        return refuse(
          SandboxClaimReason.VolumeClaimTemplatesError,
          `${SandboxClaimMessage.VolumeClaimTemplatesOverrideForbiddenPrefix}: spec.volumeClaimTemplates[${i}].metadata.name: "${name}" is defined by the template; overriding it needs volumeClaimTemplatesPolicy Overrides`,
        );
      }
      if (at >= 0) merged[at] = vct;
      else merged.push(vct);
    }
    blueprint.volumeClaimTemplates = merged;
  }

  const extra = claim.spec.additionalPodMetadata;
  if (extra?.labels || extra?.annotations) {
    const metadata = blueprint.podTemplate.metadata ?? {};
    for (const [k, v] of Object.entries(extra.labels ?? {})) {
      const current = metadata.labels?.[k];
      if (current !== undefined && current !== v) {
        return refuse(SandboxClaimReason.InvalidMetadata, `${SandboxClaimMessage.InvalidMetadataPrefix}: spec.additionalPodMetadata.labels["${k}"]: the template sets it to "${current}"`);
      }
    }
    metadata.labels = { ...metadata.labels, ...extra.labels };
    metadata.annotations = { ...metadata.annotations, ...extra.annotations };
    blueprint.podTemplate.metadata = metadata;
  }
  return { ok: true, blueprint };
}

/** Claims that change the pod's shape cannot take a pre-started pool member. */
export function forcesColdStart(claim: SandboxClaim): boolean {
  return (claim.spec.env?.length ?? 0) > 0 || (claim.spec.volumeClaimTemplates?.length ?? 0) > 0;
}

function refuse(reason: string, message: string): OverrideResult {
  return { ok: false, reason, message };
}
