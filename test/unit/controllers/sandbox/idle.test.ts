import { describe, expect, it } from "vitest";
import { idleSuspendPatch, idleVerdict } from "../../../../src/controllers/sandbox/idle.js";
import { makeSandbox } from "../fixtures.js";

const readyAt = (time: string) => ({
  type: "Ready",
  status: "True" as const,
  reason: "DependenciesReady",
  message: "",
  lastTransitionTime: time,
  observedGeneration: 1,
});

function sandbox(
  annotations: Record<string, string>,
  o: { labels?: Record<string, string>; ready?: string | false; mode?: "Running" | "Suspended" } = {},
) {
  const sb = makeSandbox({ annotations, ...(o.labels ? { labels: o.labels } : {}), spec: { operatingMode: o.mode ?? "Running" } });
  return {
    ...sb,
    metadata: { ...sb.metadata, resourceVersion: "42" },
    status: o.ready === false ? {} : { conditions: [readyAt(o.ready ?? "2026-01-01T00:00:00Z")] },
  };
}

const at = (iso: string) => Date.parse(iso);
const timeout = { "agents.x-k8s.io/idle-timeout": "10m" };

describe("idleVerdict", () => {
  it("is none without an idle timeout", () => {
    expect(idleVerdict(sandbox({}), at("2027-01-01T00:00:00Z"))).toEqual({ kind: "none" });
  });

  it("counts from Ready when no call was recorded: recheck before the deadline, suspend at it", () => {
    expect(idleVerdict(sandbox(timeout), at("2026-01-01T00:09:00Z"))).toEqual({ kind: "recheck", atMs: at("2026-01-01T00:10:00Z") });
    expect(idleVerdict(sandbox(timeout), at("2026-01-01T00:10:00Z"))).toEqual({
      kind: "suspend",
      idleSinceMs: at("2026-01-01T00:00:00Z"),
      timeoutMs: 600_000,
    });
  });

  it("counts from the last call when it is later than Ready", () => {
    const sb = sandbox({ ...timeout, "agents.x-k8s.io/last-activity": "2026-01-01T00:30:00Z" });
    expect(idleVerdict(sb, at("2026-01-01T00:35:00Z"))).toEqual({ kind: "recheck", atMs: at("2026-01-01T00:40:00Z") });
  });

  it("counts from Ready when the sandbox turned Ready after its last call (a resumed pod)", () => {
    const sb = sandbox({ ...timeout, "agents.x-k8s.io/last-activity": "2026-01-01T00:00:00Z" }, { ready: "2026-01-01T01:00:00Z" });
    expect(idleVerdict(sb, at("2026-01-01T01:05:00Z"))).toEqual({ kind: "recheck", atMs: at("2026-01-01T01:10:00Z") });
  });

  it("leaves alone a suspended sandbox, one not Ready, and a warm pool member waiting for a claim", () => {
    const late = at("2027-01-01T00:00:00Z");
    expect(idleVerdict(sandbox(timeout, { mode: "Suspended" }), late)).toEqual({ kind: "none" });
    expect(idleVerdict(sandbox(timeout, { ready: false }), late)).toEqual({ kind: "none" });
    expect(idleVerdict(sandbox(timeout, { labels: { "agents.x-k8s.io/warm-pool-sandbox": "abc" } }), late)).toEqual({ kind: "none" });
  });

  it("says why an unreadable timeout is ignored", () => {
    const v = idleVerdict(sandbox({ "agents.x-k8s.io/idle-timeout": "a while" }), at("2027-01-01T00:00:00Z"));
    expect(v.kind).toBe("invalid");
    if (v.kind === "invalid") expect(v.message).toContain('"a while"');
  });
});

describe("idleSuspendPatch", () => {
  it("suspends only the version judged, and records when", () => {
    expect(idleSuspendPatch(sandbox(timeout), new Date("2026-01-01T00:10:00Z"))).toEqual({
      metadata: { uid: "uid-sb", resourceVersion: "42", annotations: { "agents.x-k8s.io/idle-suspended-at": "2026-01-01T00:10:00.000Z" } },
      spec: { operatingMode: "Suspended" },
    });
  });
});
