import { LabelKeys, type Sandbox, type SandboxTemplate } from "../../api/index.js";
import { nameHash } from "./name-hash.js";
import type { Named } from "./named.js";
import { blueprintHash } from "./sandbox-from-template.js";

/** The parts of a pool member the staleness rule reads. */
export interface MemberBlueprint {
  metadata: { labels?: Record<string, string> | undefined };
  spec: Pick<Sandbox["spec"], "podTemplate" | "volumeClaimTemplates" | "service">;
}

/**
 * Returns the test for whether a warm pool member no longer matches `template`,
 * the template its pool points at now. The rule is upstream's, so both
 * implementations replace the same members under the Recreate strategy:
 *
 * 1. A member built from another template (its template-ref hash label names a
 *    different template) is stale, even when the two blueprints are identical:
 *    pointing a pool elsewhere is a deliberate rollout.
 * 2. A member whose blueprint hash label equals the template's is current.
 * 3. Otherwise the member is current when its pod spec, its volume claim
 *    templates' names and specs, and its service flag equal the template's.
 *    Pod and claim-template metadata are left out: a label or annotation
 *    change on the template changes its blueprint hash, but it does not replace
 *    members, nor does it relabel them (new members get the new metadata).
 *
 * The comparison in step 3 is remembered per hash label for the life of the
 * returned function (one reconcile), since a large pool after a metadata-only
 * change holds many members with the same old hash. The template's hashes are
 * computed on the first call, so a caller that ends up not asking (a claim on
 * an OnReplenish pool) pays nothing.
 */
export function staleMemberCheck(template: Named<SandboxTemplate>): (member: MemberBlueprint) => boolean {
  let hashes: { ref: string; current: string } | undefined;
  const judged = new Map<string, boolean>();
  return (member) => {
    hashes ??= { ref: nameHash(template.metadata.name), current: blueprintHash(template) };
    const labels = member.metadata.labels ?? {};
    if (labels[LabelKeys.SandboxTemplateRefHash] !== hashes.ref) return true;
    const hash = labels[LabelKeys.SandboxTemplateHash] ?? "";
    if (hash === hashes.current) return false;
    const known = hash === "" ? undefined : judged.get(hash);
    if (known !== undefined) return known;
    const stale = !sameBlueprintIgnoringMetadata(template.spec, member.spec);
    if (hash !== "") judged.set(hash, stale);
    return stale;
  };
}

function sameBlueprintIgnoringMetadata(template: MemberBlueprint["spec"], member: MemberBlueprint["spec"]): boolean {
  const want = template.volumeClaimTemplates ?? [];
  const have = member.volumeClaimTemplates ?? [];
  return (
    semanticEqual(template.podTemplate.spec, member.podTemplate.spec) &&
    want.length === have.length &&
    // By position: the list is atomic and its order is part of the blueprint hash.
    want.every((w, i) => w.metadata?.name === have[i]?.metadata?.name && semanticEqual(w.spec, have[i]?.spec)) &&
    template.service === member.service
  );
}

/**
 * Structural equality that ignores key order and treats null, an empty list and
 * an empty map as unset, so a spec that only spells "nothing" differently is not
 * a change; every other value must match exactly.
 */
function semanticEqual(a: unknown, b: unknown): boolean {
  const unset = (v: unknown): boolean =>
    v === undefined ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  if (unset(a) || unset(b)) return unset(a) && unset(b);
  if (typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].every((k) => semanticEqual(x[k], y[k]));
}
