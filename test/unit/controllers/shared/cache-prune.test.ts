// The cache keeps only what controllers read: for realistic objects, what the readers compute
// from a pruned object equals what they compute from the full one, and what is dropped is gone.
import type { KubernetesObject, V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { observePod } from "../../../../src/controllers/sandbox/observed-pod.js";
import { desiredService } from "../../../../src/controllers/sandbox/desired-service.js";
import { dropLastApplied, prunePod, pruneService, pruneToMetadata } from "../../../../src/controllers/shared/cache-prune.js";
import { containsDesired } from "../../../../src/controllers/shared/drift.js";

const owner = {
  apiVersion: "agents.x-k8s.io/v1beta1",
  kind: "Sandbox",
  name: "sb",
  uid: "uid-sb",
  controller: true,
  blockOwnerDeletion: true,
};
const clone = <T>(o: T): T => structuredClone(o);

function pod(status: V1Pod["status"]): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "sb",
      namespace: "ns",
      uid: "uid-pod",
      resourceVersion: "42",
      labels: { "agents.x-k8s.io/sandbox-name-hash": "abc" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...a whole pod...}", keep: "me" },
      ownerReferences: [owner],
    },
    spec: {
      nodeName: "kwok-node-0",
      containers: [
        {
          name: "main",
          image: "python:3.12",
          command: ["sleep", "infinity"],
          env: [{ name: "A", value: "1" }],
          resources: { requests: { cpu: "100m" } },
        },
        { name: "execd", image: "execd:1", ports: [{ containerPort: 8888 }] },
      ],
      volumes: [{ name: "workspace", emptyDir: {} }],
      tolerations: [{ key: "k", operator: "Exists" }],
    },
    status,
  } as V1Pod;
}

const running: V1Pod["status"] = {
  phase: "Running",
  hostIP: "10.0.0.5",
  hostIPs: [{ ip: "10.0.0.5" }],
  podIP: "10.88.0.7",
  podIPs: [{ ip: "10.88.0.7" }],
  qosClass: "Burstable",
  startTime: "2026-01-01T00:00:00Z" as unknown as Date,
  conditions: [
    { type: "PodScheduled", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" as unknown as Date },
    {
      type: "Ready",
      status: "True",
      lastProbeTime: null as unknown as Date,
      lastTransitionTime: "2026-01-01T00:00:01Z" as unknown as Date,
    },
  ],
  containerStatuses: [
    {
      name: "main",
      image: "python:3.12",
      imageID: "sha256:aaa",
      containerID: "containerd://x",
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: "2026-01-01T00:00:01Z" as unknown as Date } },
    },
  ],
};

const waiting: V1Pod["status"] = {
  phase: "Pending",
  reason: undefined,
  conditions: [
    { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu." },
    { type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [main]" },
  ],
  containerStatuses: [
    {
      name: "main",
      image: "python:3.12",
      imageID: "",
      ready: false,
      restartCount: 3,
      state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } },
    },
    { name: "execd", image: "execd:1", imageID: "", ready: false, restartCount: 0, state: { running: {} } },
  ],
};

const failed: V1Pod["status"] = {
  phase: "Failed",
  reason: "Evicted",
  message: "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. ",
};

describe("prunePod", () => {
  it.each([
    ["running", running],
    ["waiting", waiting],
    ["failed", failed],
    ["without status", undefined],
  ])("observePod sees the same %s pod after pruning", (_name, status) => {
    const full = pod(clone(status));
    const pruned = clone(full);
    prunePod(pruned);
    expect(observePod(pruned)).toEqual(observePod(full));
  });

  it("keeps container names and images (image drift) and metadata, drops the rest of the spec and status", () => {
    const p = pod(clone(running));
    prunePod(p);
    expect(p.spec).toEqual({
      nodeName: "kwok-node-0",
      containers: [
        { name: "main", image: "python:3.12" },
        { name: "execd", image: "execd:1" },
      ],
    });
    expect(p.status).toEqual({
      phase: "Running",
      podIP: "10.88.0.7",
      podIPs: [{ ip: "10.88.0.7" }],
      conditions: [
        { type: "PodScheduled", status: "True" },
        { type: "Ready", status: "True" },
      ],
    });
    expect(p.metadata?.ownerReferences).toEqual([owner]);
    expect(p.metadata?.annotations).toEqual({ keep: "me" });
    const again = clone(p);
    prunePod(again);
    expect(again).toEqual(p);
  });
});

describe("pruneToMetadata", () => {
  it("keeps a PVC's identity and owner but not its spec or status", () => {
    const pvc: V1PersistentVolumeClaim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data-sb", namespace: "ns", uid: "u", ownerReferences: [owner], labels: { a: "b" } },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      status: { phase: "Bound" },
    };
    const pruned = clone(pvc);
    pruneToMetadata(pruned);
    expect(pruned).toEqual({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: pvc.metadata });
  });
});

describe("pruneService", () => {
  it("leaves what the drift check compares, so a pruned live Service still matches (or not) the desired one", () => {
    const want = desiredService({
      name: "sb",
      namespace: "ns",
      owner,
      labels: { l: "v" },
      selector: { s: "v" },
      podSpec: { containers: [{ name: "main", ports: [{ containerPort: 8888 }] }] },
    });
    const live = {
      ...clone(want),
      metadata: { ...clone(want.metadata), uid: "svc", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
      spec: { ...clone(want.spec), clusterIPs: ["None"], ipFamilies: ["IPv4"], sessionAffinity: "None", type: "ClusterIP" },
      status: { loadBalancer: {} },
    } as V1Service;
    const pruned = clone(live);
    pruneService(pruned);
    expect(pruned.status).toBeUndefined();
    expect(pruned.metadata?.annotations).toEqual({});
    expect(containsDesired(pruned, want, ["spec.selector"])).toBe(true);
    const drifted = clone(pruned);
    drifted.spec = { ...drifted.spec, selector: { s: "v", extra: "x" } };
    expect(containsDesired(drifted, want, ["spec.selector"])).toBe(false);
  });
});

describe("dropLastApplied", () => {
  it("removes only kubectl's last-applied annotation", () => {
    const o: KubernetesObject = {
      metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", "agents.x-k8s.io/x": "y" } },
    };
    dropLastApplied(o);
    expect(o.metadata?.annotations).toEqual({ "agents.x-k8s.io/x": "y" });
    const bare: KubernetesObject = { metadata: {} };
    dropLastApplied(bare);
    expect(bare).toEqual({ metadata: {} });
  });
});
