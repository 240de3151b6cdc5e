import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { observePod, type ObservedPod } from "../../../../src/controllers/sandbox/observed-pod.js";
import { computeSandboxStatus, type SandboxObservation } from "../../../../src/controllers/sandbox/status.js";
import { findCondition, type Condition } from "../../../../src/runtime/conditions.js";

const t0 = new Date("2026-03-01T10:00:00.000Z");
const t1 = new Date("2026-03-01T10:01:00.000Z");
const t2 = new Date("2026-03-01T10:02:00.000Z");

function podObject(o: { phase?: string; ready?: boolean; ip?: string; node?: string; waiting?: string; deleting?: boolean; scheduled?: boolean } = {}): V1Pod {
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
      ...(o.waiting ? { containerStatuses: [{ name: "main", image: "x", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason: o.waiting } } }] } : {}),
    },
  };
}

const readyPod = (): ObservedPod => observePod(podObject({ ready: true, ip: "10.0.0.5", node: "node-a", scheduled: true }));

function obs(o: Partial<SandboxObservation> = {}): SandboxObservation {
  return {
    generation: 3,
    suspended: false,
    expired: false,
    pods: [readyPod()],
    serviceRequired: false,
    serviceName: undefined,
    serviceFQDN: undefined,
    selector: "agents.x-k8s.io/sandbox-name-hash=abcd1234",
    ...o,
  };
}

function cond(conditions: readonly Condition[], type: string): Condition {
  const c = findCondition(conditions, type);
  if (!c) throw new Error(`no ${type} condition`);
  return c;
}

function ready(o: Partial<SandboxObservation>, previous?: Condition[]): Condition {
  return cond(computeSandboxStatus(previous, obs(o), t0).status.conditions, "Ready");
}

describe("computeSandboxStatus: Ready", () => {
  it("is True with DependenciesReady for a Running, Ready pod with an IP", () => {
    const r = computeSandboxStatus(undefined, obs(), t0);
    expect(cond(r.status.conditions, "Ready")).toEqual({
      type: "Ready",
      status: "True",
      reason: "DependenciesReady",
      message: "Pod is Ready",
      observedGeneration: 3,
      lastTransitionTime: "2026-03-01T10:00:00Z",
    });
    expect(r.status.podIPs).toEqual(["10.0.0.5"]);
    expect(r.status.nodeName).toBe("node-a");
    expect(r.status.selector).toBe("agents.x-k8s.io/sandbox-name-hash=abcd1234");
    expect(r.changed).toBe(true);
  });

  it("is False with DependenciesNotReady while there is no pod", () => {
    expect(ready({ pods: [] })).toMatchObject({ status: "False", reason: "DependenciesNotReady", message: "The pod has not been created yet" });
  });

  it("carries the pod's container waiting reason", () => {
    const pod = observePod(podObject({ phase: "Pending", waiting: "ImagePullBackOff", scheduled: true }));
    expect(ready({ pods: [pod] })).toMatchObject({ status: "False", reason: "DependenciesNotReady", message: "Pod is Pending: ImagePullBackOff" });
  });

  it("is not Ready for a Running pod whose Ready condition is False, or that has no IP", () => {
    expect(ready({ pods: [observePod(podObject({ ready: false, ip: "10.0.0.5" }))] })).toMatchObject({ status: "False", reason: "DependenciesNotReady" });
    expect(ready({ pods: [observePod(podObject({ ready: true }))] })).toMatchObject({ status: "False", reason: "DependenciesNotReady" });
  });

  it("is not Ready while the pod is terminating", () => {
    const pod = observePod(podObject({ ready: true, ip: "10.0.0.5", deleting: true }));
    expect(ready({ pods: [pod] })).toMatchObject({ status: "False", reason: "DependenciesNotReady", message: "Pod sb is terminating" });
  });

  it("waits for a required Service", () => {
    expect(ready({ serviceRequired: true })).toMatchObject({ status: "False", reason: "DependenciesNotReady", message: "The Service has not been created yet" });
    expect(ready({ serviceRequired: true, serviceName: "sb" })).toMatchObject({ status: "True", reason: "DependenciesReady" });
  });

  it("reports MultiplePods when more than one pod is controlled by the sandbox", () => {
    expect(ready({ pods: [readyPod(), readyPod()] })).toMatchObject({ status: "False", reason: "MultiplePods" });
  });

  it("reports SandboxSuspended, SandboxExpired and ReconcilerError (each taking precedence over the one before)", () => {
    expect(ready({ suspended: true })).toMatchObject({ status: "False", reason: "SandboxSuspended" });
    expect(ready({ suspended: true, expired: true })).toMatchObject({ status: "False", reason: "SandboxExpired" });
    expect(ready({ suspended: true, expired: true, reconcileError: { reason: "ReconcilerError", message: "Pod sb is not ours" } })).toMatchObject({
      status: "False",
      reason: "ReconcilerError",
      message: "Pod sb is not ours",
    });
  });

  it("reports PodSucceeded and PodFailed for a finished pod, and sets Finished", () => {
    for (const [phase, reason, verb] of [["Succeeded", "PodSucceeded", "completed"], ["Failed", "PodFailed", "failed"]] as const) {
      const r = computeSandboxStatus(undefined, obs({ pods: [observePod(podObject({ phase, ip: "10.0.0.5" }))] }), t0);
      expect(cond(r.status.conditions, "Ready")).toMatchObject({ status: "False", reason, message: `Pod sb ${verb}` });
      expect(cond(r.status.conditions, "Finished")).toMatchObject({ status: "True", reason, message: `Pod sb ${verb}` });
    }
  });

  it("says why a pod failed when the kubelet says so (an eviction for a disk or memory limit)", () => {
    const evicted: V1Pod = { ...podObject({ phase: "Failed", ip: "10.0.0.5" }) };
    evicted.status = { ...evicted.status, reason: "Evicted", message: "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. " };
    const r = computeSandboxStatus(undefined, obs({ pods: [observePod(evicted)] }), t0);
    const message = "Pod sb failed: Evicted: Pod ephemeral local storage usage exceeds the total limit of containers 2Gi.";
    expect(cond(r.status.conditions, "Ready")).toMatchObject({ status: "False", reason: "PodFailed", message });
    expect(cond(r.status.conditions, "Finished")).toMatchObject({ status: "True", reason: "PodFailed", message });
  });

  it("sets no Finished condition while the pod runs", () => {
    expect(findCondition(computeSandboxStatus(undefined, obs(), t0).status.conditions, "Finished")).toBeUndefined();
  });
});

describe("computeSandboxStatus: Suspended", () => {
  it("is absent on a sandbox that was never suspended", () => {
    expect(findCondition(computeSandboxStatus(undefined, obs(), t0).status.conditions, "Suspended")).toBeUndefined();
  });

  it("goes False(PodTerminating) while the pod is going, True(PodTerminated) once gone, then False(NotSuspended) on resume and stays", () => {
    const terminating = computeSandboxStatus(undefined, obs({ suspended: true }), t0);
    expect(cond(terminating.status.conditions, "Suspended")).toMatchObject({ status: "False", reason: "PodTerminating" });

    const gone = computeSandboxStatus(terminating.status.conditions, obs({ suspended: true, pods: [] }), t1);
    expect(cond(gone.status.conditions, "Suspended")).toMatchObject({ status: "True", reason: "PodTerminated", lastTransitionTime: "2026-03-01T10:01:00Z" });

    const resumed = computeSandboxStatus(gone.status.conditions, obs({ pods: [] }), t2);
    expect(cond(resumed.status.conditions, "Suspended")).toMatchObject({
      status: "False",
      reason: "NotSuspended",
      lastTransitionTime: "2026-03-01T10:02:00Z",
    });

    const running = computeSandboxStatus(resumed.status.conditions, obs(), t2);
    expect(cond(running.status.conditions, "Suspended")).toMatchObject({ status: "False", reason: "NotSuspended" });
    expect(cond(running.status.conditions, "Ready")).toMatchObject({ status: "True" });
  });

  it("clears podIPs and nodeName while suspended, even if the pod is still there", () => {
    const r = computeSandboxStatus(undefined, obs({ suspended: true }), t0);
    expect(r.status.podIPs).toBeUndefined();
    expect(r.status.nodeName).toBeUndefined();
  });

  it("clears podIPs, nodeName and the service when expired", () => {
    const r = computeSandboxStatus(undefined, obs({ expired: true, serviceName: "sb", serviceFQDN: "sb.ns.svc.cluster.local" }), t0);
    expect(r.status.podIPs).toBeUndefined();
    expect(r.status.nodeName).toBeUndefined();
    expect(r.status.service).toBeUndefined();
    expect(r.status.serviceFQDN).toBeUndefined();
  });

  it("reports the service and its FQDN when there is one", () => {
    const r = computeSandboxStatus(undefined, obs({ serviceName: "sb", serviceFQDN: "sb.ns.svc.cluster.local" }), t0);
    expect(r.status.service).toBe("sb");
    expect(r.status.serviceFQDN).toBe("sb.ns.svc.cluster.local");
  });
});

describe("computeSandboxStatus: PodScheduled", () => {
  it("mirrors the pod's PodScheduled condition", () => {
    const pod = observePod(podObject({ phase: "Pending", scheduled: false }));
    const r = computeSandboxStatus(undefined, obs({ pods: [pod] }), t0);
    expect(cond(r.status.conditions, "PodScheduled")).toMatchObject({ status: "False", reason: "Unschedulable", message: "0/1 nodes are available" });
    const scheduled = computeSandboxStatus(r.status.conditions, obs(), t1);
    expect(cond(scheduled.status.conditions, "PodScheduled")).toMatchObject({ status: "True", reason: "PodScheduled", lastTransitionTime: "2026-03-01T10:01:00Z" });
  });

  it("is absent while the pod has no such condition, and kept (not invented) when the pod is gone", () => {
    const none = computeSandboxStatus(undefined, obs({ pods: [observePod(podObject({ phase: "Pending" }))] }), t0);
    expect(findCondition(none.status.conditions, "PodScheduled")).toBeUndefined();
    const first = computeSandboxStatus(undefined, obs(), t0);
    const gone = computeSandboxStatus(first.status.conditions, obs({ pods: [] }), t1);
    expect(cond(gone.status.conditions, "PodScheduled")).toEqual(cond(first.status.conditions, "PodScheduled"));
  });
});

describe("computeSandboxStatus: change tracking", () => {
  it("reports no change and keeps every condition as it was on a repeat pass", () => {
    const first = computeSandboxStatus(undefined, obs(), t0);
    const again = computeSandboxStatus(first.status.conditions, obs(), t2);
    expect(again.changed).toBe(false);
    expect(again.status.conditions).toEqual(first.status.conditions);
  });

  it("moves lastTransitionTime only when a condition's status changes", () => {
    const notReady = computeSandboxStatus(undefined, obs({ pods: [] }), t0);
    const stillNotReady = computeSandboxStatus(notReady.status.conditions, obs({ pods: [observePod(podObject({ phase: "Pending", waiting: "ContainerCreating" }))] }), t1);
    expect(stillNotReady.changed).toBe(true);
    expect(cond(stillNotReady.status.conditions, "Ready")).toMatchObject({ status: "False", lastTransitionTime: "2026-03-01T10:00:00Z", message: "Pod is Pending: ContainerCreating" });
    const nowReady = computeSandboxStatus(stillNotReady.status.conditions, obs(), t2);
    expect(cond(nowReady.status.conditions, "Ready")).toMatchObject({ status: "True", lastTransitionTime: "2026-03-01T10:02:00Z" });
  });

  it("reports a change when only the generation moves", () => {
    const first = computeSandboxStatus(undefined, obs(), t0);
    const next = computeSandboxStatus(first.status.conditions, obs({ generation: 4 }), t1);
    expect(next.changed).toBe(true);
    expect(cond(next.status.conditions, "Ready")).toMatchObject({ observedGeneration: 4, lastTransitionTime: "2026-03-01T10:00:00Z" });
  });

  it("does not modify the previous conditions", () => {
    const first = computeSandboxStatus(undefined, obs({ pods: [] }), t0).status.conditions;
    const before = structuredClone(first);
    computeSandboxStatus(first, obs({ suspended: true }), t1);
    expect(first).toEqual(before);
  });
});
