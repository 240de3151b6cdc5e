import { WarmPoolUpdateStrategyType } from "../../api/index.js";

/** A pool member as the planner sees it. */
export interface MemberView {
  name: string;
  ready: boolean;
  /** No longer matches the pool's template (see staleMemberCheck for the rule). */
  stale: boolean;
  createdAtMs: number;
  /** Its pod cannot be scheduled: replacing it would not help, so it is held. */
  unschedulable: boolean;
}

export interface PoolPlanInput {
  replicas: number;
  /** Members in the cache that are not being deleted (nor deleted by us a moment ago). */
  members: MemberView[];
  /** Creations issued but not yet visible in the cache. */
  pendingCreates: number;
  strategy: WarmPoolUpdateStrategyType;
  nowMs: number;
  readinessGraceMs: number;
  unschedulableRecheckMs: number;
}

export interface PoolPlan {
  create: number;
  delete: { name: string; reason: "Stale" | "NotReadyInTime" | "Excess" }[];
  /** When to look again without an event (the earliest readiness deadline), if ever. */
  requeueAfterMs: number | undefined;
}

/**
 * Pure: what to create and delete to bring the pool to spec.replicas. Counts
 * pending creations as members, so a lagging cache never causes over-creation;
 * deletes the least useful members first (not Ready, then stale, then newest).
 */
export function planPool(input: PoolPlanInput): PoolPlan {
  const deletions: PoolPlan["delete"] = [];
  let requeueAfterMs: number | undefined;
  const keep: MemberView[] = [];
  const soonest = (ms: number): void => {
    requeueAfterMs = requeueAfterMs === undefined ? ms : Math.min(requeueAfterMs, ms);
  };

  for (const m of input.members) {
    if (m.stale && input.strategy === WarmPoolUpdateStrategyType.Recreate) {
      deletions.push({ name: m.name, reason: "Stale" });
      continue;
    }
    if (!m.ready) {
      if (m.unschedulable) {
        soonest(input.unschedulableRecheckMs);
      } else {
        const deadline = m.createdAtMs + input.readinessGraceMs;
        if (deadline <= input.nowMs) {
          deletions.push({ name: m.name, reason: "NotReadyInTime" });
          continue;
        }
        soonest(deadline - input.nowMs);
      }
    }
    keep.push(m);
  }

  const have = keep.length + input.pendingCreates;
  let create = 0;
  if (have < input.replicas) {
    create = input.replicas - have;
  } else if (have > input.replicas) {
    const excess = Math.min(have - input.replicas, keep.length);
    const leastUseful = [...keep].sort(
      (a, b) => Number(a.ready) - Number(b.ready) || Number(b.stale) - Number(a.stale) || b.createdAtMs - a.createdAtMs,
    );
    for (const m of leastUseful.slice(0, excess)) deletions.push({ name: m.name, reason: "Excess" });
  }
  return { create, delete: deletions, requeueAfterMs };
}
