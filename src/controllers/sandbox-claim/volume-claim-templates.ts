// The volume claim templates a cold-started claim's Sandbox gets, checked and merged as upstream's
// SandboxClaimReconciler does (mergeVolumeClaimTemplates, validateVolumeClaimTemplates): both lists
// are checked before the policy is, every refusal has reason VolumeClaimTemplatesError, and the
// message is upstream's error text word for word, so clients matching on it see the same thing.
import {
  SandboxClaimMessage,
  SandboxClaimReason,
  VolumeClaimTemplatesPolicy,
  type PersistentVolumeClaimTemplate,
} from "../../api/index.js";

/** Why a claim cannot be cold-started; the message is the claim's Ready message. */
export interface Refusal {
  reason: string;
  message: string;
}

export type MergedVolumeClaimTemplates = { ok: true; volumeClaimTemplates: PersistentVolumeClaimTemplate[] } | ({ ok: false } & Refusal);

const msg = SandboxClaimMessage;

/**
 * What is wrong with a list of volume claim templates, if anything: an entry without a name (a
 * PVC is named <name>-<sandbox>) or a name used twice. Pure.
 */
export function volumeClaimTemplatesProblem(vcts: readonly PersistentVolumeClaimTemplate[]): string | undefined {
  const seen = new Set<string>();
  for (const [i, vct] of vcts.entries()) {
    const name = vct.metadata?.name ?? "";
    if (name === "") return `${msg.VolumeClaimTemplatesInvalidPrefix}: name at index ${i} is empty`;
    // JSON quoting equals Go's %q for every name the API server accepts in a PVC's name.
    if (seen.has(name)) return `${msg.VolumeClaimTemplatesInvalidPrefix}: duplicate name ${JSON.stringify(name)}`;
    seen.add(name);
  }
  return undefined;
}

/**
 * The template's volume claim templates with the claim's merged in as `policy` allows: none under
 * Disallowed (the default), new names appended under Allowed, and under Overrides a claim entry
 * replaces the template's of the same name in place. Call only when the claim brings some. Pure.
 */
export function mergeVolumeClaimTemplates(
  templateVCTs: readonly PersistentVolumeClaimTemplate[],
  claimVCTs: readonly PersistentVolumeClaimTemplate[],
  policy: VolumeClaimTemplatesPolicy | undefined,
): MergedVolumeClaimTemplates {
  const refuse = (detail: string): MergedVolumeClaimTemplates => ({
    ok: false,
    reason: SandboxClaimReason.VolumeClaimTemplatesError,
    message: `${msg.VolumeClaimTemplatesMergeFailedPrefix}: ${detail}`,
  });
  const templateProblem = volumeClaimTemplatesProblem(templateVCTs);
  if (templateProblem) return refuse(`template: ${templateProblem}`);
  const claimProblem = volumeClaimTemplatesProblem(claimVCTs);
  if (claimProblem) return refuse(`claim: ${claimProblem}`);

  switch (policy ?? VolumeClaimTemplatesPolicy.Disallowed) {
    case VolumeClaimTemplatesPolicy.Disallowed:
      return refuse(msg.VolumeClaimTemplatesDisallowed);
    case VolumeClaimTemplatesPolicy.Allowed: {
      const templateNames = new Set(templateVCTs.map((t) => t.metadata?.name));
      const clash = claimVCTs.find((c) => templateNames.has(c.metadata?.name));
      if (clash)
        return refuse(
          `${msg.VolumeClaimTemplatesOverrideForbiddenPrefix}: cannot override template volume ${JSON.stringify(clash.metadata?.name)}`,
        );
      return { ok: true, volumeClaimTemplates: [...templateVCTs, ...claimVCTs] };
    }
    case VolumeClaimTemplatesPolicy.Overrides: {
      const byName = new Map(claimVCTs.map((c) => [c.metadata?.name, c]));
      const merged = templateVCTs.map((t) => byName.get(t.metadata?.name) ?? t);
      const templateNames = new Set(templateVCTs.map((t) => t.metadata?.name));
      return { ok: true, volumeClaimTemplates: [...merged, ...claimVCTs.filter((c) => !templateNames.has(c.metadata?.name))] };
    }
    default:
      // The CRD's enum keeps other values out, but a cached object is not re-validated; upstream
      // reports this one as an unclassified error.
      return {
        ok: false,
        reason: SandboxClaimReason.ReconcilerError,
        message: `${msg.ErrorPrefix}${msg.VolumeClaimTemplatesMergeFailedPrefix}: unknown volume claim templates policy ${JSON.stringify(policy)}`,
      };
  }
}

/**
 * Why the template's own volume claim templates cannot be used, when a claim that brings none is
 * cold-started (a warm adoption does not look at them). Pure.
 */
export function templateVolumeClaimTemplatesRefusal(templateVCTs: readonly PersistentVolumeClaimTemplate[]): Refusal | undefined {
  const problem = volumeClaimTemplatesProblem(templateVCTs);
  if (!problem) return undefined;
  return {
    reason: SandboxClaimReason.VolumeClaimTemplatesError,
    message: `${msg.VolumeClaimTemplatesInvalidInTemplatePrefix}: ${problem}`,
  };
}
