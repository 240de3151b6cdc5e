import type { KubernetesObject } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { EventRecorder } from "../../../src/runtime/events.js";
import { freshNamespace, testKube, waitFor } from "../harness/cluster.js";

const kube = testKube();

interface EventObj extends KubernetesObject {
  reason?: string;
  note?: string;
  type?: string;
  action?: string;
  reportingController?: string;
  regarding?: { kind?: string; name?: string; uid?: string };
  series?: { count?: number };
}

async function eventsFor(ns: string, uid: string): Promise<EventObj[]> {
  const list = await kube.list<EventObj>({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: ns });
  return list.items.filter((e) => e.regarding?.uid === uid);
}

describe("EventRecorder", () => {
  let ns = "";
  let target: KubernetesObject;
  beforeAll(async () => {
    ns = await freshNamespace("events");
    target = await kube.apply<KubernetesObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "subject", namespace: ns } });
  });

  it("records an events.k8s.io/v1 Event about an object", async () => {
    const rec = new EventRecorder({ kube, reportingController: "agents.x-k8s.io/agent-sandbox-ts", reportingInstance: "test-1" });
    rec.event(target, { type: "Normal", reason: "SandboxCreated", action: "Create", note: "Created sandbox subject" });
    await rec.flush();
    const evs = await eventsFor(ns, target.metadata?.uid ?? "");
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      type: "Normal",
      reason: "SandboxCreated",
      action: "Create",
      note: "Created sandbox subject",
      reportingController: "agents.x-k8s.io/agent-sandbox-ts",
      regarding: { kind: "ConfigMap", name: "subject", uid: target.metadata?.uid },
    });
  });

  it("aggregates a hot loop of identical events into one Event with a series count", async () => {
    const obj = await kube.apply<KubernetesObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hot", namespace: ns } });
    const rec = new EventRecorder({ kube, reportingController: "agents.x-k8s.io/agent-sandbox-ts", seriesFlushMs: 60_000 });
    for (let i = 0; i < 200; i++) rec.event(obj, { type: "Warning", reason: "TemplateMissing", note: "SandboxTemplate t not found" });
    await rec.flush();
    const evs = await eventsFor(ns, obj.metadata?.uid ?? "");
    expect(evs).toHaveLength(1);
    expect(evs[0]?.series?.count).toBe(200);
  });

  it("writes Events a few at a time and drops new ones when too many wait, instead of queueing without bound", async () => {
    const obj = await kube.apply<KubernetesObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bursty", namespace: ns } });
    const rec = new EventRecorder({
      kube,
      reportingController: "agents.x-k8s.io/agent-sandbox-ts",
      maxConcurrentWrites: 1,
      maxQueuedWrites: 3,
    });
    for (let i = 0; i < 20; i++) rec.event(obj, { type: "Normal", reason: "Step", note: `distinct step ${i}` });
    await rec.flush();
    const evs = await eventsFor(ns, obj.metadata?.uid ?? "");
    // One in flight plus at most three waiting: the other sixteen or more were dropped.
    expect(evs.length).toBeGreaterThanOrEqual(1);
    expect(evs.length).toBeLessThanOrEqual(4);
    // The first ones in are the ones written.
    expect(evs.map((e) => e.note)).toContain("distinct step 0");
  });

  it("caps distinct events per object with a token bucket", async () => {
    const obj = await kube.apply<KubernetesObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "spammy", namespace: ns } });
    const rec = new EventRecorder({ kube, reportingController: "agents.x-k8s.io/agent-sandbox-ts", perObjectBurst: 5 });
    for (let i = 0; i < 40; i++) rec.event(obj, { type: "Normal", reason: "Step", note: `step ${i}` });
    await rec.flush();
    const evs = await eventsFor(ns, obj.metadata?.uid ?? "");
    expect(evs).toHaveLength(5);
  });

  it("never throws when the API rejects the event", async () => {
    const rec = new EventRecorder({ kube, reportingController: "agents.x-k8s.io/agent-sandbox-ts" });
    // Reason must be non-empty; the API rejects it and the recorder only logs.
    rec.event(target, { type: "Normal", reason: "", note: "bad" });
    await expect(rec.flush()).resolves.toBeUndefined();
    await waitFor(async () => (await eventsFor(ns, target.metadata?.uid ?? "")).every((e) => e.note !== "bad"));
  });
});
