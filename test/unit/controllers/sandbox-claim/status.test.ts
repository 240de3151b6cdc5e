import { describe, expect, it } from "vitest";
import {
  computeClaimStatus,
  type ClaimedSandbox,
  type ClaimObservation,
  type PreviousClaimStatus,
} from "../../../../src/controllers/sandbox-claim/status.js";
import { findCondition, type Condition } from "../../../../src/runtime/conditions.js";

const now = new Date("2026-03-01T10:05:00.000Z");
const readyAt = "2026-03-01T10:01:00Z";
const finishedAt = "2026-03-01T10:02:00Z";

const sandboxReady: Condition = {
  type: "Ready",
  status: "True",
  reason: "DependenciesReady",
  message: "Pod is Ready; Service Exists",
  observedGeneration: 2,
  lastTransitionTime: readyAt,
};
const sandboxFinished: Condition = {
  type: "Finished",
  status: "True",
  reason: "PodSucceeded",
  message: "Pod completed successfully",
  observedGeneration: 2,
  lastTransitionTime: finishedAt,
};

function sandbox(conditions: Condition[], extra: { podIPs?: string[]; serviceFQDN?: string } = {}): ClaimedSandbox {
  return { name: "sb-1", status: { conditions, ...extra } };
}

function obs(o: Partial<ClaimObservation>): ClaimObservation {
  return { generation: 5, expired: false, sandbox: undefined, ...o };
}

type Expected = Omit<Condition, "lastTransitionTime">;
const withoutTime = (cs: readonly Condition[]): Expected[] => cs.map(({ lastTransitionTime: _t, ...c }) => c);
const claimReady = (status: Condition["status"], reason: string, message: string): Expected => ({
  type: "Ready",
  status,
  reason,
  message,
  observedGeneration: 5,
});

interface Scenario {
  name: string;
  previous?: PreviousClaimStatus;
  o: Partial<ClaimObservation>;
  want: Expected[];
}

// The claim's conditions as upstream's SandboxClaimReconciler writes them: Ready from
// computeReadyCondition, Finished from syncFinishedCondition (both via computeAndSetStatus).
const scenarios: Scenario[] = [
  {
    name: "the Sandbox's Ready is forwarded, with the claim's generation",
    o: { sandbox: sandbox([sandboxReady]) },
    want: [claimReady("True", "DependenciesReady", "Pod is Ready; Service Exists")],
  },
  {
    name: "a provisioning Sandbox's reason and message come through as they are",
    o: {
      sandbox: sandbox([{ ...sandboxReady, status: "False", reason: "DependenciesNotReady", message: "Pod exists with phase: Pending" }]),
    },
    want: [claimReady("False", "DependenciesNotReady", "Pod exists with phase: Pending")],
  },
  {
    name: "a suspended Sandbox",
    o: { sandbox: sandbox([{ ...sandboxReady, status: "False", reason: "SandboxSuspended", message: "Sandbox is suspended" }]) },
    want: [claimReady("False", "SandboxSuspended", "Sandbox is suspended")],
  },
  {
    name: "a Sandbox without a Ready condition yet (just created)",
    o: { sandbox: sandbox([]) },
    want: [claimReady("False", "SandboxNotReady", "Sandbox is not ready")],
  },
  {
    name: "a Sandbox that expired on its own",
    o: { sandbox: sandbox([{ ...sandboxReady, status: "False", reason: "SandboxExpired", message: "Sandbox has expired" }]) },
    want: [claimReady("False", "SandboxExpired", "Underlying Sandbox resource has expired independently of the Claim.")],
  },
  {
    name: "no Sandbox",
    o: {},
    want: [claimReady("False", "SandboxMissing", "Sandbox does not exist")],
  },
  {
    name: "the claim expired while its Sandbox is being deleted",
    o: { expired: true, sandbox: sandbox([sandboxReady]) },
    want: [claimReady("False", "ClaimExpired", "Claim expired. Sandbox cleanup initiated.")],
  },
  {
    name: "a refusal (the warm pool is missing)",
    o: { refusal: { reason: "WarmPoolNotFound", message: 'SandboxWarmPool "pool" not found' } },
    want: [claimReady("False", "WarmPoolNotFound", 'SandboxWarmPool "pool" not found')],
  },
  {
    name: "the Sandbox's Finished is copied verbatim (its own observedGeneration)",
    o: {
      sandbox: sandbox([
        sandboxFinished,
        { ...sandboxReady, status: "False", reason: "PodSucceeded", message: "Pod completed successfully" },
      ]),
    },
    want: [
      { type: "Finished", status: "True", reason: "PodSucceeded", message: "Pod completed successfully", observedGeneration: 2 },
      claimReady("False", "PodSucceeded", "Pod completed successfully"),
    ],
  },
  {
    name: "Finished goes when the Sandbox no longer has it",
    previous: { conditions: [{ ...sandboxFinished }] },
    o: { sandbox: sandbox([sandboxReady]) },
    want: [claimReady("True", "DependenciesReady", "Pod is Ready; Service Exists")],
  },
  {
    name: "an expired claim whose Sandbox is gone keeps Finished",
    previous: { conditions: [{ ...sandboxFinished }], sandbox: { name: "sb-1" } },
    o: { expired: true },
    want: [
      { type: "Finished", status: "True", reason: "PodSucceeded", message: "Pod completed successfully", observedGeneration: 2 },
      claimReady("False", "ClaimExpired", "Claim expired. Sandbox cleanup initiated."),
    ],
  },
  {
    name: "a claim without a Sandbox that has not expired drops Finished",
    previous: { conditions: [{ ...sandboxFinished }] },
    o: { refusal: { reason: "TemplateNotFound", message: 'SandboxTemplate "tmpl" not found' } },
    want: [claimReady("False", "TemplateNotFound", 'SandboxTemplate "tmpl" not found')],
  },
];

describe("computeClaimStatus: the conditions upstream writes", () => {
  it.each(scenarios)("$name", ({ previous, o, want }) => {
    expect(withoutTime(computeClaimStatus(previous, obs(o), now).status.conditions)).toEqual(want);
  });
});

describe("computeClaimStatus: transition times", () => {
  it("takes the Sandbox's Ready transition time when the status changes, and keeps its own otherwise", () => {
    const first = computeClaimStatus(undefined, obs({ sandbox: sandbox([sandboxReady]) }), now).status;
    expect(findCondition(first.conditions, "Ready")?.lastTransitionTime).toBe(readyAt);
    const moved = { ...sandboxReady, message: "Pod is Ready", lastTransitionTime: "2026-03-01T10:04:00Z" };
    const again = computeClaimStatus(first, obs({ sandbox: sandbox([moved]) }), now).status;
    expect(findCondition(again.conditions, "Ready")).toMatchObject({ message: "Pod is Ready", lastTransitionTime: readyAt });
  });

  it("takes the Sandbox's Finished transition time, so ttlSecondsAfterFinished counts from the pod's end", () => {
    const { status } = computeClaimStatus(undefined, obs({ sandbox: sandbox([sandboxFinished]) }), now);
    expect(findCondition(status.conditions, "Finished")?.lastTransitionTime).toBe(finishedAt);
  });

  it("stamps its own conditions with the time of the pass", () => {
    const { status } = computeClaimStatus(undefined, obs({}), now);
    expect(findCondition(status.conditions, "Ready")?.lastTransitionTime).toBe("2026-03-01T10:05:00Z");
  });
});

describe("computeClaimStatus: status.sandbox", () => {
  it("mirrors the Sandbox's name, pod IPs and Service FQDN", () => {
    const { status } = computeClaimStatus(
      undefined,
      obs({ sandbox: sandbox([sandboxReady], { podIPs: ["10.0.0.5"], serviceFQDN: "sb-1.ns.svc.cluster.local" }) }),
      now,
    );
    expect(status.sandbox).toEqual({ name: "sb-1", podIPs: ["10.0.0.5"], serviceFQDN: "sb-1.ns.svc.cluster.local" });
  });

  it("names a Sandbox that has no status yet", () => {
    expect(computeClaimStatus(undefined, obs({ sandbox: { name: "sb-1" } }), now).status.sandbox).toEqual({ name: "sb-1" });
  });

  it("drops pod IPs and FQDN the Sandbox no longer reports", () => {
    const previous = { sandbox: { name: "sb-1", podIPs: ["10.0.0.5"], serviceFQDN: "sb-1.ns.svc.cluster.local" } };
    const r = computeClaimStatus(previous, obs({ sandbox: sandbox([sandboxReady]) }), now);
    expect(r.status.sandbox).toEqual({ name: "sb-1" });
    expect(r.changed).toBe(true);
  });

  it("is cleared once the Sandbox is gone, and left alone by a refusal", () => {
    const previous = { sandbox: { name: "sb-1", podIPs: ["10.0.0.5"] } };
    expect(computeClaimStatus(previous, obs({ expired: true }), now).status.sandbox).toBeUndefined();
    const refused = computeClaimStatus(previous, obs({ refusal: { reason: "ReconcilerError", message: "Error seen: x" } }), now);
    expect(refused.status.sandbox).toEqual({ name: "sb-1", podIPs: ["10.0.0.5"] });
  });
});

describe("computeClaimStatus: change tracking", () => {
  it("reports no change on a repeat pass", () => {
    const o = obs({ sandbox: sandbox([sandboxReady, sandboxFinished], { podIPs: ["10.0.0.5"] }) });
    const first = computeClaimStatus(undefined, o, now);
    expect(first.changed).toBe(true);
    const again = computeClaimStatus(first.status, o, new Date("2026-03-01T10:06:00.000Z"));
    expect(again.changed).toBe(false);
    expect(again.status).toEqual(first.status);
  });

  it("reports a change when only status.sandbox moves", () => {
    const first = computeClaimStatus(undefined, obs({ sandbox: sandbox([sandboxReady]) }), now).status;
    expect(computeClaimStatus(first, obs({ sandbox: sandbox([sandboxReady], { podIPs: ["10.0.0.6"] }) }), now).changed).toBe(true);
  });
});
