// metav1.Condition helpers with apimachinery's meta.SetStatusCondition semantics:
// upsert by type; lastTransitionTime moves only when status changes; reason, message and
// observedGeneration are always updated. Pure: the caller writes status only when `changed`.

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339, seconds precision (metav1.Time). */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type ConditionInput = Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string };

/** metav1.Time serialises with whole seconds; keeping the same shape avoids spurious diffs. */
export function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "False";
}

/**
 * Returns the conditions with `next` upserted (sorted by type for stable diffs) and whether
 * anything changed. `now` stamps lastTransitionTime when the status flips or the type is new,
 * unless `next.lastTransitionTime` is given.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date,
): { conditions: Condition[]; changed: boolean } {
  const list = conditions ?? [];
  const prev = findCondition(list, next.type);
  const stamped: Condition = {
    type: next.type,
    status: next.status,
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : (next.lastTransitionTime ?? metaTime(now)),
    reason: next.reason,
    message: next.message,
  };
  const changed =
    !prev ||
    prev.status !== stamped.status ||
    prev.reason !== stamped.reason ||
    prev.message !== stamped.message ||
    prev.observedGeneration !== stamped.observedGeneration ||
    prev.lastTransitionTime !== stamped.lastTransitionTime;
  const out = [...list.filter((c) => c.type !== next.type), stamped].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return { conditions: out, changed };
}

/** Removes the condition of `type`; `changed` is false if there was none. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): { conditions: Condition[]; changed: boolean } {
  const list = conditions ?? [];
  const out = list.filter((c) => c.type !== type);
  return { conditions: out, changed: out.length !== list.length };
}

/**
 * A list of conditions being edited: each `set` and `remove` applies setCondition or
 * removeCondition to the list so far and remembers whether anything changed, so a status
 * builder states its conditions one by one and reads `conditions` and `changed` at the end.
 */
export class ConditionList {
  private list: Condition[];
  private dirty = false;

  constructor(
    previous: readonly Condition[] | undefined,
    private readonly now: Date,
  ) {
    this.list = [...(previous ?? [])];
  }

  /** Upserts `next` (see setCondition). */
  set(next: ConditionInput): void {
    const r = setCondition(this.list, next, this.now);
    this.list = r.conditions;
    this.dirty ||= r.changed;
  }

  /** Removes the condition of `type`, if there is one. */
  remove(type: string): void {
    const r = removeCondition(this.list, type);
    this.list = r.conditions;
    this.dirty ||= r.changed;
  }

  /** The conditions as edited so far, sorted by type. */
  get conditions(): Condition[] {
    return this.list;
  }

  /** Whether any `set` or `remove` changed the list. */
  get changed(): boolean {
    return this.dirty;
  }
}
