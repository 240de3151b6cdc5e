import { LabelKeys, WarmPoolUpdateStrategyType, type SandboxWarmPool } from "../../api/index.js";
import type { MemberBlueprint } from "./stale-member.js";

/** The update strategy a pool runs under: OnReplenish when the pool names none, as upstream defaults it. */
export function updateStrategyOf(pool: Pick<SandboxWarmPool, "spec">): WarmPoolUpdateStrategyType {
  return pool.spec.updateStrategy?.type ?? WarmPoolUpdateStrategyType.OnReplenish;
}

/**
 * Returns the test for whether a claim may adopt a pool member as far as the
 * member's template goes; readiness, ownership and races are the claim's own
 * checks. The claim controller picks members with it and the pool's
 * claims-first hold counts members with it, so the pool holds its writes back
 * only for members a claim will take.
 *
 * `isStale` is staleMemberCheck for the template the pool points at now; it is
 * asked only under Recreate, so a claim on any other pool does not hash the
 * template. The rule follows upstream's claim controller:
 *
 * - Under Recreate a stale member is refused: the pool is deleting it, and a
 *   claim on such a pool must get the current template. A member the pool keeps
 *   (after a label-only template change, say) is taken.
 * - Under OnReplenish, the default, any member is taken, stale or not: that
 *   strategy replaces members only as claims take them, so refusing stale ones
 *   would strand them in the pool while every claim starts cold.
 * - Either way a member must carry a template-ref hash label (of any value):
 *   one without was not built by a pool from a template.
 *
 * One deliberate difference: upstream's claim skips the first step of the
 * staleness rule (a member of another template is stale), so after a Recreate
 * pool switches to a template with an identical blueprint it may still adopt a
 * member its own pool is deleting. Here both sides use the whole rule and agree
 * that such a member is gone.
 */
export function adoptableMemberCheck(
  strategy: WarmPoolUpdateStrategyType,
  isStale: (member: MemberBlueprint) => boolean,
): (member: MemberBlueprint) => boolean {
  if (strategy === WarmPoolUpdateStrategyType.Recreate) return (member) => !isStale(member);
  return (member) => member.metadata.labels?.[LabelKeys.SandboxTemplateRefHash] !== undefined;
}
