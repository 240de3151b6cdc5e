import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { observePod, type ObservedPod } from "../../../../src/controllers/sandbox/observed-pod.js";
import { computeSandboxStatus, type PreviousSandboxStatus, type SandboxObservation } from "../../../../src/controllers/sandbox/status.js";
import { findCondition, type Condition } from "../../../../src/runtime/conditions.js";

const t0 = new Date("2026-03-01T10:00:00.000Z");
const t1 = new Date("2026-03-01T10:01:00.000Z");
const t2 = new Date("2026-03-01T10:02:00.000Z");
const selector = "agents.x-k8s.io/sandbox-name-hash=abcd1234";
const service = { name: "sb", fqdn: "sb.ns.svc.cluster.local" };

interface PodShape {
  phase?: string;
  ready?: boolean;
  ip?: string;
  node?: string;
  waiting?: string;
  deleting?: boolean;
  /** true: scheduled (no reason, as the scheduler writes it); false: Unschedulable; undefined: no condition yet. */
  scheduled?: boolean;
  reason?: string;
  message?: string;
}

function podObject(o: PodShape = {}): V1Pod {
  const conditions = [];
  if (o.scheduled !== undefined) {
    conditions.push(
      o.scheduled
        ? { type: "PodScheduled", status: "True" }
        : { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available" },
    );
  }
  if (o.ready !== undefined) conditions.push({ type: "Ready", status: o.ready ? "True" : "False" });
  return {
    metadata: { name: "sb", ...(o.deleting ? { deletionTimestamp: t0 } : {}) },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? "Running",
      conditions,
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.message ? { message: o.message } : {}),
      ...(o.waiting
        ? {
            containerStatuses: [
              { name: "main", image: "x", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason: o.waiting } } },
            ],
          }
        : {}),
    },
  };
}

const pod = (o: PodShape = {}): ObservedPod => observePod(podObject(o));
const readyPod = (o: PodShape = {}): ObservedPod => pod({ ready: true, ip: "10.0.0.5", node: "node-a", scheduled: true, ...o });

function obs(o: Partial<SandboxObservation> = {}): SandboxObservation {
  return {
    generation: 3,
    suspended: false,
    expired: false,
    pods: [readyPod()],
    serviceRequested: undefined,
    service: undefined,
    selector,
    ...o,
  };
}

type Expected = Omit<Condition, "lastTransitionTime">;
const withoutTime = (cs: readonly Condition[]): Expected[] => cs.map(({ lastTransitionTime: _t, ...c }) => c);

// The exact conditions upstream writes, by type (generation 3).
const notSuspended: Expected = {
  type: "Suspended",
  status: "False",
  reason: "NotSuspended",
  message: "Sandbox is not suspended",
  observedGeneration: 3,
};
const scheduled: Expected = { type: "PodScheduled", status: "True", reason: "PodScheduled", message: "", observedGeneration: 3 };
const notReady = (message: string, reason = "DependenciesNotReady"): Expected => ({
  type: "Ready",
  status: "False",
  reason,
  message,
  observedGeneration: 3,
});
const ready = (message: string): Expected => ({
  type: "Ready",
  status: "True",
  reason: "DependenciesReady",
  message,
  observedGeneration: 3,
});

function cond(conditions: readonly Condition[], type: string): Condition {
  const c = findCondition(conditions, type);
  if (!c) throw new Error(`no ${type} condition`);
  return c;
}

/** A previous status: the conditions a first pass with `o` wrote at t0. */
function after(o: Partial<SandboxObservation>): PreviousSandboxStatus {
  const r = computeSandboxStatus(undefined, obs(o), t0);
  return { conditions: r.status.conditions, selector: r.status.selector };
}

interface Scenario {
  name: string;
  previous?: PreviousSandboxStatus;
  o: Partial<SandboxObservation>;
  /** Every condition the sandbox carries afterwards, in type order, without lastTransitionTime. */
  want: Expected[];
}

// One row per state upstream's SandboxReconciler distinguishes. The conditions come from its
// computeSuspendedCondition, computePodScheduledCondition, computeFinishedCondition and
// computeReadyCondition (via computeConditions and reconcileChildResources), and for expiry from
// setSandboxExpiredCondition and handleSandboxExpiry. Rows marked "(ours)" add detail in
// parentheses after upstream's message, or keep a state upstream would leave.
const scenarios: Scenario[] = [
  {
    name: "pod absent, Service requested and created",
    o: { pods: [], serviceRequested: true, service },
    want: [notReady("Pod does not exist; Service Exists"), notSuspended],
  },
  {
    name: "pod absent, no Service asked for",
    o: { pods: [] },
    want: [notReady("Pod does not exist"), notSuspended],
  },
  {
    name: "pending, unschedulable: PodScheduled mirrors the pod's condition verbatim",
    o: { pods: [pod({ phase: "Pending", scheduled: false })] },
    want: [
      { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available", observedGeneration: 3 },
      notReady("Pod exists with phase: Pending"),
      notSuspended,
    ],
  },
  {
    name: "pending, the scheduler has not reported yet",
    o: { pods: [pod({ phase: "Pending" })] },
    want: [
      {
        type: "PodScheduled",
        status: "Unknown",
        reason: "PodSchedulingUnknown",
        message: "Pod has not reported a PodScheduled condition yet",
        observedGeneration: 3,
      },
      notReady("Pod exists with phase: Pending"),
      notSuspended,
    ],
  },
  {
    name: "scheduled, containers being created (ours: the waiting reason in parentheses)",
    o: { pods: [pod({ phase: "Pending", scheduled: true, waiting: "ContainerCreating" })] },
    want: [scheduled, notReady("Pod exists with phase: Pending (ContainerCreating)"), notSuspended],
  },
  {
    name: "running, not Ready",
    o: { pods: [pod({ ready: false, ip: "10.0.0.5", scheduled: true })] },
    want: [scheduled, notReady("Pod is Running but not Ready"), notSuspended],
  },
  {
    name: "running and Ready but no pod IP yet",
    o: { pods: [pod({ ready: true, scheduled: true })] },
    want: [scheduled, notReady("Pod is Ready but has no podIPs yet"), notSuspended],
  },
  {
    name: "ready with the requested Service (upstream's e2e expectation)",
    o: { serviceRequested: true, service },
    want: [scheduled, ready("Pod is Ready; Service Exists"), notSuspended],
  },
  {
    name: "ready, requested Service missing",
    o: { serviceRequested: true },
    want: [scheduled, notReady("Pod is Ready; Service does not exist"), notSuspended],
  },
  {
    name: "ready, spec.service unset but a Service exists (required for backward compatibility)",
    o: { service },
    want: [scheduled, ready("Pod is Ready; Service Exists"), notSuspended],
  },
  {
    name: "ready, no Service",
    o: {},
    want: [scheduled, ready("Pod is Ready"), notSuspended],
  },
  {
    name: "ready, Service disabled",
    o: { serviceRequested: false },
    want: [scheduled, ready("Pod is Ready"), notSuspended],
  },
  {
    name: "suspending: the owned pod is terminating",
    previous: after({ serviceRequested: true, service }),
    o: { suspended: true, pods: [readyPod({ deleting: true })], serviceRequested: true, service },
    want: [
      scheduled,
      notReady("Sandbox is suspending", "SandboxSuspended"),
      {
        type: "Suspended",
        status: "False",
        reason: "PodTerminating",
        message: "Pod is terminating. Sandbox is suspending",
        observedGeneration: 3,
      },
    ],
  },
  {
    name: "suspended: the pod is gone (PodScheduled removed)",
    previous: after({}),
    o: { suspended: true, pods: [] },
    want: [
      notReady("Sandbox is suspended", "SandboxSuspended"),
      {
        type: "Suspended",
        status: "True",
        reason: "PodTerminated",
        message: "Pod has been terminated. Sandbox is suspended",
        observedGeneration: 3,
      },
    ],
  },
  {
    name: "suspending blocked by a pod this sandbox does not own",
    o: { suspended: true, pods: [], foreignPod: true },
    want: [
      notReady("Sandbox is suspending", "SandboxSuspended"),
      {
        type: "Suspended",
        status: "False",
        reason: "PodNotOwned",
        message: "Refused to delete pod because it is not owned by this sandbox",
        observedGeneration: 3,
      },
    ],
  },
  {
    name: "suspended with several owned pods: the pod's state is unknown",
    o: { suspended: true, pods: [readyPod(), readyPod()] },
    want: [
      {
        type: "PodScheduled",
        status: "Unknown",
        reason: "PodSchedulingUnknown",
        message: "Pod state is unknown. Pod scheduling cannot be determined",
        observedGeneration: 3,
      },
      notReady("multiple Pods (2) are controlled by this Sandbox; refusing to choose or create a Pod", "MultiplePods"),
      {
        type: "Suspended",
        status: "Unknown",
        reason: "PodStateUnknown",
        message: "Pod state is unknown. Sandbox suspension cannot be confirmed",
        observedGeneration: 3,
      },
    ],
  },
  {
    name: "resumed: Suspended stays, False again",
    previous: after({ suspended: true, pods: [] }),
    o: { pods: [] },
    want: [notReady("Pod does not exist"), notSuspended],
  },
  {
    name: "several owned pods while running",
    o: { pods: [readyPod(), readyPod()] },
    want: [
      {
        type: "PodScheduled",
        status: "Unknown",
        reason: "PodSchedulingUnknown",
        message: "Pod state is unknown. Pod scheduling cannot be determined",
        observedGeneration: 3,
      },
      notReady("multiple Pods (2) are controlled by this Sandbox; refusing to choose or create a Pod", "MultiplePods"),
      notSuspended,
    ],
  },
  {
    name: "the pod could not be created or used",
    o: { pods: [], reconcileError: "Pod sb already exists and is not controlled by this Sandbox" },
    want: [
      {
        type: "PodScheduled",
        status: "Unknown",
        reason: "PodSchedulingUnknown",
        message: "Pod state is unknown. Pod scheduling cannot be determined",
        observedGeneration: 3,
      },
      notReady("Error seen: Pod sb already exists and is not controlled by this Sandbox", "ReconcilerError"),
      notSuspended,
    ],
  },
  {
    name: "finished: the pod succeeded",
    o: { pods: [pod({ phase: "Succeeded", scheduled: true })] },
    want: [
      { type: "Finished", status: "True", reason: "PodSucceeded", message: "Pod completed successfully", observedGeneration: 3 },
      scheduled,
      notReady("Pod completed successfully", "PodSucceeded"),
      notSuspended,
    ],
  },
  {
    name: "finished: the pod failed",
    o: { pods: [pod({ phase: "Failed", scheduled: true })] },
    want: [
      { type: "Finished", status: "True", reason: "PodFailed", message: "Pod failed", observedGeneration: 3 },
      scheduled,
      notReady("Pod failed", "PodFailed"),
      notSuspended,
    ],
  },
  {
    name: "finished: the pod was evicted (ours: the kubelet's reason in parentheses)",
    o: {
      pods: [
        pod({
          phase: "Failed",
          scheduled: true,
          reason: "Evicted",
          message: "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. ",
        }),
      ],
    },
    want: [
      {
        type: "Finished",
        status: "True",
        reason: "PodFailed",
        message: "Pod failed (Evicted: Pod ephemeral local storage usage exceeds the total limit of containers 2Gi.)",
        observedGeneration: 3,
      },
      scheduled,
      notReady("Pod failed (Evicted: Pod ephemeral local storage usage exceeds the total limit of containers 2Gi.)", "PodFailed"),
      notSuspended,
    ],
  },
  {
    name: "expired after running: Ready says so, PodScheduled goes, Suspended is left as it was",
    previous: after({ generation: 1, serviceRequested: true, service }),
    o: { generation: 2, expired: true, pods: [] },
    want: [
      { type: "Ready", status: "False", reason: "SandboxExpired", message: "Sandbox has expired", observedGeneration: 2 },
      { ...notSuspended, observedGeneration: 1 },
    ],
  },
  {
    name: "expired after finishing: Finished is kept",
    previous: after({ pods: [pod({ phase: "Succeeded", scheduled: true })] }),
    o: { expired: true, pods: [] },
    want: [
      { type: "Finished", status: "True", reason: "PodSucceeded", message: "Pod completed successfully", observedGeneration: 3 },
      notReady("Sandbox has expired", "SandboxExpired"),
      notSuspended,
    ],
  },
  {
    name: "(ours) a terminating pod while running is not Ready",
    o: { pods: [readyPod({ deleting: true })] },
    want: [scheduled, notReady("Pod is Running but not Ready (terminating)"), notSuspended],
  },
  {
    name: "a finished sandbox whose pod went away drops Finished: a new pod is on its way",
    previous: after({ pods: [pod({ phase: "Failed", scheduled: true })] }),
    o: { pods: [] },
    want: [notReady("Pod does not exist"), notSuspended],
  },
];

describe("computeSandboxStatus: the conditions upstream writes, state by state", () => {
  it.each(scenarios)("$name", ({ previous, o, want }) => {
    const { status } = computeSandboxStatus(previous, obs(o), t1);
    expect(withoutTime(status.conditions)).toEqual(want);
  });
});

describe("computeSandboxStatus: status fields", () => {
  it("reports the pod's IPs and node, the selector and the Service while running", () => {
    const { status } = computeSandboxStatus(undefined, obs({ serviceRequested: true, service }), t0);
    expect(status).toMatchObject({
      podIPs: ["10.0.0.5"],
      nodeName: "node-a",
      selector,
      service: "sb",
      serviceFQDN: "sb.ns.svc.cluster.local",
    });
  });

  it("clears podIPs and nodeName while suspended, even if the pod is still there, and keeps the Service", () => {
    const { status } = computeSandboxStatus(undefined, obs({ suspended: true, pods: [readyPod({ deleting: true })], service }), t0);
    expect(status.podIPs).toBeUndefined();
    expect(status.nodeName).toBeUndefined();
    expect(status.service).toBe("sb");
  });

  it("keeps nothing but the conditions once expired (upstream resets the status on expiry)", () => {
    const { status } = computeSandboxStatus(after({ service }), obs({ expired: true, service }), t1);
    expect(Object.keys(status)).toEqual(["conditions"]);
  });

  it("records the selector once a pod under the sandbox's name is seen, and keeps it", () => {
    expect(computeSandboxStatus(undefined, obs({ pods: [] }), t0).status.selector).toBeUndefined();
    expect(computeSandboxStatus(undefined, obs({ suspended: true, pods: [], foreignPod: true }), t0).status.selector).toBe(selector);
    const seen = after({});
    expect(seen.selector).toBe(selector);
    expect(computeSandboxStatus(seen, obs({ suspended: true, pods: [] }), t1).status.selector).toBe(selector);
  });
});

describe("computeSandboxStatus: transitions", () => {
  it("moves Suspended's lastTransitionTime only when its status changes (NotSuspended -> PodTerminating -> PodTerminated -> NotSuspended)", () => {
    const running = computeSandboxStatus(undefined, obs(), t0).status;
    const suspending = computeSandboxStatus(running, obs({ suspended: true, pods: [readyPod({ deleting: true })] }), t1).status;
    expect(cond(suspending.conditions, "Suspended")).toMatchObject({
      reason: "PodTerminating",
      lastTransitionTime: "2026-03-01T10:00:00Z",
    });
    const suspended = computeSandboxStatus(suspending, obs({ suspended: true, pods: [] }), t1).status;
    expect(cond(suspended.conditions, "Suspended")).toMatchObject({ status: "True", lastTransitionTime: "2026-03-01T10:01:00Z" });
    const resumed = computeSandboxStatus(suspended, obs({ pods: [] }), t2).status;
    expect(cond(resumed.conditions, "Suspended")).toMatchObject({
      status: "False",
      reason: "NotSuspended",
      lastTransitionTime: "2026-03-01T10:02:00Z",
    });
  });

  it("keeps Suspended False across a pod restart while running", () => {
    const running = computeSandboxStatus(undefined, obs(), t0).status;
    const restarting = computeSandboxStatus(running, obs({ pods: [] }), t1).status;
    const back = computeSandboxStatus(restarting, obs(), t2).status;
    expect(cond(back.conditions, "Suspended")).toEqual(cond(running.conditions, "Suspended"));
  });

  it("removes PodScheduled when the pod is gone, and stamps a new transition when it comes back", () => {
    const first = computeSandboxStatus(undefined, obs(), t0).status;
    const gone = computeSandboxStatus(first, obs({ pods: [] }), t1);
    expect(gone.changed).toBe(true);
    expect(findCondition(gone.status.conditions, "PodScheduled")).toBeUndefined();
    const back = computeSandboxStatus(gone.status, obs(), t2).status;
    expect(cond(back.conditions, "PodScheduled").lastTransitionTime).toBe("2026-03-01T10:02:00Z");
  });

  it("removes Finished when a suspension takes the finished pod away", () => {
    const finished = after({ pods: [pod({ phase: "Succeeded" })] });
    const suspended = computeSandboxStatus(finished, obs({ suspended: true, pods: [] }), t1).status;
    expect(findCondition(suspended.conditions, "Finished")).toBeUndefined();
  });

  it("reports no change and keeps every condition as it was on a repeat pass", () => {
    const first = computeSandboxStatus(undefined, obs(), t0);
    const again = computeSandboxStatus(first.status, obs(), t2);
    expect(again.changed).toBe(false);
    expect(again.status.conditions).toEqual(first.status.conditions);
  });

  it("moves Ready's lastTransitionTime only when its status changes", () => {
    const notReadyYet = computeSandboxStatus(undefined, obs({ pods: [] }), t0).status;
    const stillNot = computeSandboxStatus(notReadyYet, obs({ pods: [pod({ phase: "Pending", waiting: "ContainerCreating" })] }), t1);
    expect(stillNot.changed).toBe(true);
    expect(cond(stillNot.status.conditions, "Ready")).toMatchObject({ status: "False", lastTransitionTime: "2026-03-01T10:00:00Z" });
    const nowReady = computeSandboxStatus(stillNot.status, obs(), t2).status;
    expect(cond(nowReady.conditions, "Ready")).toMatchObject({ status: "True", lastTransitionTime: "2026-03-01T10:02:00Z" });
  });

  it("stamps the new generation on every condition it writes", () => {
    const first = computeSandboxStatus(undefined, obs(), t0).status;
    const next = computeSandboxStatus(first, obs({ generation: 4 }), t1);
    expect(next.changed).toBe(true);
    expect(next.status.conditions.map((c) => c.observedGeneration)).toEqual([4, 4, 4]);
    expect(cond(next.status.conditions, "Ready").lastTransitionTime).toBe("2026-03-01T10:00:00Z");
  });

  it("does not modify the previous status", () => {
    const first = after({ pods: [] });
    const before = structuredClone(first);
    computeSandboxStatus(first, obs({ suspended: true }), t1);
    expect(first).toEqual(before);
  });
});

describe("observePod", () => {
  it("falls back to upstream's PodScheduled reasons when the pod's condition has none", () => {
    const unknown = observePod({
      metadata: { name: "sb" },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "" }] },
    });
    expect(unknown.scheduled).toEqual({ status: "False", reason: "PodSchedulingUnknown", message: "" });
    expect(readyPod().scheduled).toEqual({ status: "True", reason: "PodScheduled", message: "" });
  });
});
