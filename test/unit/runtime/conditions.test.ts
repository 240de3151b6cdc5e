import { describe, expect, it } from "vitest";
import {
  ConditionList,
  findCondition,
  isFalse,
  isTrue,
  metaTime,
  removeCondition,
  setCondition,
  type Condition,
} from "../../../src/runtime/conditions.js";

const t0 = new Date("2026-01-01T00:00:00.123Z");
const t1 = new Date("2026-01-01T00:05:00.000Z");

describe("setCondition", () => {
  it("adds a new condition stamped with now (whole seconds) and reports a change", () => {
    const r = setCondition(undefined, { type: "Ready", status: "Unknown", reason: "Reconciling", message: "", observedGeneration: 1 }, t0);
    expect(r.changed).toBe(true);
    expect(r.conditions).toEqual([
      {
        type: "Ready",
        status: "Unknown",
        reason: "Reconciling",
        message: "",
        observedGeneration: 1,
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
  });

  it("keeps lastTransitionTime when only reason/message/generation change", () => {
    const a = setCondition(
      [],
      { type: "Ready", status: "False", reason: "PodPending", message: "waiting", observedGeneration: 1 },
      t0,
    ).conditions;
    const b = setCondition(
      a,
      { type: "Ready", status: "False", reason: "PodScheduling", message: "scheduling", observedGeneration: 2 },
      t1,
    );
    expect(b.changed).toBe(true);
    const c = findCondition(b.conditions, "Ready") as Condition;
    expect(c.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    expect(c.reason).toBe("PodScheduling");
    expect(c.observedGeneration).toBe(2);
  });

  it("moves lastTransitionTime when status changes", () => {
    const a = setCondition([], { type: "Ready", status: "False", reason: "PodPending", message: "" }, t0).conditions;
    const b = setCondition(a, { type: "Ready", status: "True", reason: "PodReady", message: "" }, t1);
    expect(b.changed).toBe(true);
    expect(findCondition(b.conditions, "Ready")?.lastTransitionTime).toBe(metaTime(t1));
    expect(isTrue(b.conditions, "Ready")).toBe(true);
    expect(isFalse(b.conditions, "Ready")).toBe(false);
  });

  it("reports no change for an identical condition", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "PodReady", message: "ok", observedGeneration: 3 }, t0).conditions;
    const b = setCondition(a, { type: "Ready", status: "True", reason: "PodReady", message: "ok", observedGeneration: 3 }, t1);
    expect(b.changed).toBe(false);
    expect(b.conditions).toEqual(a);
  });

  it("keeps other conditions and sorts by type; does not mutate the input", () => {
    const input: Condition[] = [
      { type: "Suspended", status: "False", reason: "Running", message: "", lastTransitionTime: "2025-01-01T00:00:00Z" },
    ];
    const frozen = structuredClone(input);
    const r = setCondition(input, { type: "Finished", status: "False", reason: "Running", message: "" }, t0);
    expect(r.conditions.map((c) => c.type)).toEqual(["Finished", "Suspended"]);
    expect(input).toEqual(frozen);
  });

  it("removeCondition reports whether anything was removed", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "R", message: "" }, t0).conditions;
    expect(removeCondition(a, "Ready")).toEqual({ conditions: [], changed: true });
    expect(removeCondition(a, "Other").changed).toBe(false);
    expect(isTrue(undefined, "Ready")).toBe(false);
  });
});

describe("ConditionList", () => {
  const t0 = new Date("2026-01-01T00:00:00Z");
  const ready: Condition = { type: "Ready", status: "True", reason: "Ok", message: "", lastTransitionTime: metaTime(t0) };

  it("reports no change when every set repeats what was there", () => {
    const list = new ConditionList([ready], new Date("2026-01-02T00:00:00Z"));
    list.set({ type: "Ready", status: "True", reason: "Ok", message: "" });
    expect(list.changed).toBe(false);
    expect(list.conditions).toEqual([ready]);
  });

  it("applies sets and removes in order and reports the change", () => {
    const later = new Date("2026-01-02T00:00:00Z");
    const list = new ConditionList([ready], later);
    list.set({ type: "Suspended", status: "False", reason: "NotSuspended", message: "m" });
    list.remove("Ready");
    list.remove("Missing");
    expect(list.changed).toBe(true);
    expect(list.conditions).toEqual([
      { type: "Suspended", status: "False", reason: "NotSuspended", message: "m", lastTransitionTime: metaTime(later) },
    ]);
  });

  it("does not alter the list it started from", () => {
    const previous = [ready];
    new ConditionList(previous, t0).remove("Ready");
    expect(previous).toEqual([ready]);
  });
});
