import type { KubernetesObject } from "@kubernetes/client-node";
import { SandboxConditionType, type Sandbox } from "../../api/index.js";
import { isTrue } from "../../runtime/index.js";
import { isNamed, type Named } from "../shared/named.js";
import type { MemberBlueprint } from "../shared/stale-member.js";

type NamedSandbox = Named<Sandbox & KubernetesObject>;

/** What a claim asks of its pool's members before it tries to adopt one. */
export interface WarmCandidateFilter {
  /** The claim's namespace: a member elsewhere is never adopted, whatever owns it. */
  namespace: string;
  /** The pool's uid: only a member the pool still controls is the pool's to give. */
  poolUID: string;
  /** The template rule for the pool's update strategy (adoptableMemberCheck). */
  adoptable: (member: MemberBlueprint) => boolean;
  /** Members this process is adopting, or adopted and the cache does not show so yet. */
  taken: (member: NamedSandbox) => boolean;
  /** What this claim needs of a member beyond the template rule (its env's delivery); none by default. */
  serves?: ((member: NamedSandbox) => boolean) | undefined;
}

/**
 * The members a claim may try to adopt, best first. A member qualifies when it
 * is not being deleted, its pool controls it, it is Ready with pod IPs (a claim
 * never adopts a member it would then wait on), nobody here has taken it, and
 * the template rule accepts it. The template rule goes last: it is the only
 * check that may compare specs, and the cheap ones rule most members out first.
 * Oldest first: it has waited longest, and its pod's caches are warmest. Pure.
 */
export function warmCandidates(members: readonly (Sandbox & KubernetesObject)[], filter: WarmCandidateFilter): NamedSandbox[] {
  return members
    .filter(
      (s): s is NamedSandbox =>
        isNamed(s) &&
        s.metadata.namespace === filter.namespace &&
        !s.metadata.deletionTimestamp &&
        (s.metadata.ownerReferences?.some((r) => r.uid === filter.poolUID && r.controller === true) ?? false) &&
        isTrue(s.status?.conditions, SandboxConditionType.Ready) &&
        (s.status?.podIPs?.length ?? 0) > 0 &&
        !filter.taken(s) &&
        (filter.serves?.(s) ?? true) &&
        filter.adoptable(s),
    )
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
}
