import { describe, expect, it } from "vitest";
import { planPool, type MemberView, type PoolPlanInput } from "../../../../src/controllers/sandbox-warm-pool/plan.js";

const now = 1_000_000_000;
const grace = 300_000;
const recheck = 60_000;

function member(name: string, o: Partial<MemberView> = {}): MemberView {
  return { name, ready: true, stale: false, createdAtMs: now - 10_000, unschedulable: false, ...o };
}

function plan(o: Partial<PoolPlanInput>) {
  return planPool({
    replicas: 3,
    members: [],
    pendingCreates: 0,
    strategy: "Recreate",
    nowMs: now,
    readinessGraceMs: grace,
    unschedulableRecheckMs: recheck,
    ...o,
  });
}

describe("planPool: filling", () => {
  it("creates the whole pool from nothing", () => {
    expect(plan({})).toEqual({ create: 3, delete: [], requeueAfterMs: undefined });
  });

  it("creates only the deficit", () => {
    expect(plan({ members: [member("a")] }).create).toBe(2);
  });

  it("counts pending creations, so a lagging cache never over-creates", () => {
    expect(plan({ members: [member("a")], pendingCreates: 2 })).toEqual({ create: 0, delete: [], requeueAfterMs: undefined });
    expect(plan({ members: [member("a")], pendingCreates: 1 }).create).toBe(1);
    expect(plan({ members: [], pendingCreates: 3 }).create).toBe(0);
  });

  it("does nothing when the pool is at size", () => {
    expect(plan({ members: [member("a"), member("b"), member("c")] })).toEqual({ create: 0, delete: [], requeueAfterMs: undefined });
  });

  it("scales to zero by deleting everything", () => {
    const p = plan({ replicas: 0, members: [member("a"), member("b")] });
    expect(p.create).toBe(0);
    expect(p.delete.map((d) => d.name).sort()).toEqual(["a", "b"]);
    expect(p.delete.every((d) => d.reason === "Excess")).toBe(true);
  });
});

describe("planPool: excess", () => {
  it("deletes not-Ready members first, then stale, then the newest", () => {
    const members = [
      member("old-ready", { createdAtMs: now - 50_000 }),
      member("new-ready", { createdAtMs: now - 1_000 }),
      member("stale-ready", { stale: true, createdAtMs: now - 40_000 }),
      member("not-ready", { ready: false, createdAtMs: now - 60_000 }),
      member("mid-ready", { createdAtMs: now - 20_000 }),
    ];
    const order = (replicas: number) => plan({ replicas, members, strategy: "OnReplenish" }).delete.map((d) => [d.name, d.reason]);
    expect(order(4)).toEqual([["not-ready", "Excess"]]);
    expect(order(3)).toEqual([
      ["not-ready", "Excess"],
      ["stale-ready", "Excess"],
    ]);
    expect(order(1)).toEqual([
      ["not-ready", "Excess"],
      ["stale-ready", "Excess"],
      ["new-ready", "Excess"],
      ["mid-ready", "Excess"],
    ]);
  });

  it("never deletes more members than it has, whatever is pending", () => {
    const p = plan({ replicas: 0, members: [member("a"), member("b", { createdAtMs: now - 1 })], pendingCreates: 5 });
    expect(p.create).toBe(0);
    expect(p.delete.map((d) => d.name).sort()).toEqual(["a", "b"]);
  });
});

describe("planPool: stale members", () => {
  it("Recreate deletes stale members at once and replaces them", () => {
    const p = plan({ members: [member("a", { stale: true }), member("b"), member("c")], strategy: "Recreate" });
    expect(p.delete).toEqual([{ name: "a", reason: "Stale" }]);
    expect(p.create).toBe(1);
  });

  it("OnReplenish keeps stale members", () => {
    const p = plan({ members: [member("a", { stale: true }), member("b"), member("c")], strategy: "OnReplenish" });
    expect(p).toEqual({ create: 0, delete: [], requeueAfterMs: undefined });
  });
});

describe("planPool: readiness", () => {
  it("deletes and replaces a member not Ready past the grace period", () => {
    const p = plan({ members: [member("stuck", { ready: false, createdAtMs: now - grace }), member("b"), member("c")] });
    expect(p.delete).toEqual([{ name: "stuck", reason: "NotReadyInTime" }]);
    expect(p.create).toBe(1);
  });

  it("waits for a member still within its grace period, requeueing at its deadline", () => {
    const p = plan({ members: [member("young", { ready: false, createdAtMs: now - 100_000 }), member("b"), member("c")] });
    expect(p.delete).toEqual([]);
    expect(p.create).toBe(0);
    expect(p.requeueAfterMs).toBe(grace - 100_000);
  });

  it("holds an unschedulable member (replacing it would not help) and rechecks it later", () => {
    const p = plan({
      members: [member("pending", { ready: false, unschedulable: true, createdAtMs: now - 10 * grace }), member("b"), member("c")],
    });
    expect(p.delete).toEqual([]);
    expect(p.create).toBe(0);
    expect(p.requeueAfterMs).toBe(recheck);
  });

  it("requeues at the earliest deadline", () => {
    const members = [
      member("a", { ready: false, createdAtMs: now - 100_000 }), // 200 s left
      member("b", { ready: false, createdAtMs: now - 280_000 }), // 20 s left
      member("c", { ready: false, unschedulable: true }), // recheck in 60 s
    ];
    expect(plan({ members }).requeueAfterMs).toBe(20_000);
    expect(plan({ members: [members[0] as MemberView, members[2] as MemberView] }).requeueAfterMs).toBe(recheck);
  });

  it("sets no requeue when every member is Ready", () => {
    expect(plan({ members: [member("a"), member("b")] }).requeueAfterMs).toBeUndefined();
  });
});
