// The Sandbox reconciler, branch by branch, against in-memory caches and API server.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { makeSandboxReconciler } from "../../../../src/controllers/sandbox/reconciler.js";
import { desiredPod } from "../../../../src/controllers/sandbox/desired-pod.js";
import { apiErrorFrom, controllerRef, InvalidError, type ReconcileResult } from "../../../../src/runtime/index.js";
import { makeSandbox, testConfig } from "../fixtures.js";
import { reconcilerWorld, type ReconcilerWorld } from "../reconciler-harness.js";

const NS = "ns";
const NOW = new Date("2026-01-01T12:00:00Z");

type TestSandbox = ReturnType<typeof makeSandbox>;

function sandbox(o: { shutdownTime?: string; shutdownPolicy?: "Delete" | "Retain"; service?: boolean } = {}): TestSandbox {
  const sb = makeSandbox({
    spec: {
      ...(o.shutdownTime ? { shutdownTime: o.shutdownTime } : {}),
      ...(o.shutdownPolicy ? { shutdownPolicy: o.shutdownPolicy } : {}),
      ...(o.service !== undefined ? { service: o.service } : {}),
    },
  });
  return { ...sb, metadata: { ...sb.metadata, generation: 1, resourceVersion: "5" } };
}

/** The sandbox's pod as the API server would hold it, running. */
function livePod(sb: TestSandbox, edit: (p: V1Pod) => void = () => undefined): V1Pod {
  const pod = desiredPod(sb, controllerRef(sb as KubernetesObject), testConfig);
  const live: V1Pod = {
    ...pod,
    metadata: { ...pod.metadata, uid: "uid-pod", resourceVersion: "9" },
    status: { phase: "Running", podIP: "10.244.0.9" },
  };
  edit(live);
  return live;
}

async function reconcile(world: ReconcilerWorld, name = "sb"): Promise<ReconcileResult> {
  return makeSandboxReconciler(world.deps)(`${NS}/${name}`, world.ctx(NS, name));
}

const verbs = (world: ReconcilerWorld): string[] => world.kube.writes.map((w) => `${w.verb} ${w.kind}`);

describe("Sandbox reconciler", () => {
  it("does nothing for a sandbox that is gone", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW });
    await reconcile(world);
    expect(world.kube.writes).toEqual([]);
  });

  it("writes the NetworkPolicy before it creates the pod, and leaves the status to the pod's own event", async () => {
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sandbox()] } });
    await reconcile(world);
    expect(verbs(world)).toEqual(["apply NetworkPolicy", "create Pod"]);
    const pod = world.kube.writes[1]?.body as V1Pod;
    expect(pod.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: "Sandbox", uid: "uid-sb", controller: true })]);
    expect(pod.spec?.runtimeClassName).toBe(testConfig.defaultRuntimeClassName);
  });

  it("on expiry with Retain, deletes the pod (UID precondition) and reports the sandbox expired", async () => {
    const sb = sandbox({ shutdownTime: "2026-01-01T11:00:00Z" });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [livePod(sb)] } });
    await reconcile(world);
    expect(verbs(world)).toEqual(["delete Pod", "applyStatus Sandbox"]);
    expect(world.kube.writes[0]?.preconditions).toEqual({ uid: "uid-pod" });
    expect(JSON.stringify(world.kube.writes[1]?.body)).toContain('"reason":"SandboxExpired"');
  });

  it("on expiry with Delete, deletes the Sandbox itself with its UID as precondition", async () => {
    const sb = sandbox({ shutdownTime: "2026-01-01T11:00:00Z", shutdownPolicy: "Delete" });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb] } });
    await reconcile(world);
    expect(world.kube.writes).toEqual([
      expect.objectContaining({ verb: "delete", kind: "Sandbox", name: "sb", preconditions: { uid: "uid-sb" } }),
    ]);
  });

  it("before expiry, comes back just after shutdownTime", async () => {
    const sb = sandbox({ shutdownTime: "2026-01-01T12:00:30Z" });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [livePod(sb)] } });
    const result = await reconcile(world);
    expect(result).toEqual({ requeueAfter: 30_001 });
  });

  it("refuses a pod of its name that it does not control (a squatter), says so and creates nothing", async () => {
    const sb = sandbox();
    const squatter = livePod(sb, (p) => {
      p.metadata = { ...p.metadata, ownerReferences: [] };
    });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [squatter] } });
    // The cache indexes pods by controller UID, so the squatter is found by name only.
    await reconcile(world);
    expect(world.kube.writes.filter((w) => w.kind === "Pod")).toEqual([]);
    expect(world.events.events).toEqual([
      expect.objectContaining({
        type: "Warning",
        reason: "ReconcilerError",
        note: expect.stringContaining("is not controlled by this Sandbox"),
      }),
    ]);
    expect(JSON.stringify(world.kube.writes.find((w) => w.verb === "applyStatus")?.body)).toContain("is not controlled by this Sandbox");
  });

  it("when the pod's name is taken outside its cache (409), looks at the live pod before claiming it", async () => {
    const sb = sandbox();
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb] } });
    world.kube.preload(livePod(sb, (p) => (p.metadata = { ...p.metadata, ownerReferences: [], labels: {} })));
    await reconcile(world);
    expect(verbs(world)).toEqual(["apply NetworkPolicy", "create Pod", "applyStatus Sandbox"]);
    expect(world.events.events.map((e) => e.note)).toEqual([expect.stringContaining("is not controlled by this Sandbox")]);
  });

  it("names the field when the API server refuses the pod, instead of retrying in silence", async () => {
    const sb = sandbox();
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb] } });
    world.kube.failNext(
      "create",
      "Pod",
      new InvalidError("POST", "(test)", 422, {
        reason: "Invalid",
        message: "Pod is invalid",
        details: { causes: [{ field: "spec.containers[0].ports[0].containerPort", message: "must be between 1 and 65535" }] },
      }),
    );
    await expect(reconcile(world)).resolves.toBeUndefined();
    const status = JSON.stringify(world.kube.writes.find((w) => w.verb === "applyStatus")?.body);
    expect(status).toContain("the API server refused the Pod: spec.containers[0].ports[0].containerPort: must be between 1 and 65535");
  });

  it("puts back a container image changed on the running pod", async () => {
    const sb = sandbox();
    const tampered = livePod(sb, (p) => {
      p.spec = { ...p.spec!, containers: p.spec!.containers.map((c) => (c.name === "main" ? { ...c, image: "evil:latest" } : c)) };
    });
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [tampered] } });
    await reconcile(world);
    const patch = world.kube.writes.find((w) => w.verb === "patch" && w.kind === "Pod");
    expect(patch?.body).toEqual({ spec: { containers: [{ name: "main", image: "busybox" }] } });
  });

  describe("a pod the node ended", () => {
    const evicted = (sb: TestSandbox, createdAt: string, restartPolicy?: string): V1Pod =>
      livePod(sb, (p) => {
        p.metadata = { ...p.metadata, creationTimestamp: createdAt as unknown as Date };
        if (restartPolicy) p.spec = { ...p.spec!, restartPolicy };
        p.status = {
          phase: "Failed",
          reason: "Evicted",
          message: "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi.",
        };
      });

    it("is deleted at once (its UID as precondition) and replaced in the same pass, and the new pod's server is told why", async () => {
      const sb = sandbox();
      const world = reconcilerWorld({
        config: testConfig,
        now: NOW,
        cached: { sandboxes: [sb], pods: [evicted(sb, "2026-01-01T11:00:00Z")] },
      });
      const result = await reconcile(world);
      expect(verbs(world)).toEqual(["apply NetworkPolicy", "delete Pod", "create Pod"]);
      expect(world.kube.writes[1]).toMatchObject({ preconditions: { uid: "uid-pod" }, gracePeriodSeconds: 0 });
      const replacement = world.kube.writes[2]?.body as V1Pod;
      const execd = replacement.spec?.initContainers?.find((c) => c.name === "sandbox-execd");
      const notice = execd?.args?.[(execd.args.indexOf("--restart-notice") ?? -2) + 1];
      expect(notice).toContain("the previous one ended (Evicted: Pod ephemeral local storage usage exceeds");
      expect(notice).toContain("/workspace starts empty");
      expect(world.events.events).toEqual([expect.objectContaining({ type: "Warning", reason: "PodReplaced" })]);
      expect(result).toBeUndefined();
    });

    it("is replaced no sooner than 30 s after it was created, so a pod the node keeps refusing is not recreated in a loop", async () => {
      const sb = sandbox();
      const young = evicted(sb, "2026-01-01T11:59:50Z");
      const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [young] } });
      const result = await reconcile(world);
      expect(verbs(world)).not.toContain("delete Pod");
      expect(verbs(world)).not.toContain("create Pod");
      expect(result).toEqual({ requeueAfter: 20_000 });
    });

    it("once gone, the next pod still learns how the old one ended, from the Finished condition", async () => {
      const sb = sandbox();
      const world = reconcilerWorld({
        config: testConfig,
        now: NOW,
        cached: { sandboxes: [sb], pods: [evicted(sb, "2026-01-01T11:00:00Z")] },
      });
      // The name is still held when the replacement is created: it waits for the delete event.
      world.kube.failNext(
        "create",
        "Pod",
        apiErrorFrom("POST", "(in memory)", 409, { kind: "Status", code: 409, reason: "AlreadyExists", message: "exists" }),
      );
      await reconcile(world);
      const finished = {
        type: "Finished",
        status: "True",
        reason: "PodFailed",
        message: "Pod failed: Evicted: the node was low on memory",
        lastTransitionTime: "2026-01-01T11:59:00Z",
        observedGeneration: 1,
      };
      const later = reconcilerWorld({
        config: testConfig,
        now: NOW,
        cached: { sandboxes: [{ ...sb, status: { conditions: [finished] } }] },
      });
      await reconcile(later);
      const pod = later.kube.writes.find((w) => w.verb === "create")?.body as V1Pod;
      const args = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd")?.args ?? [];
      expect(args.join(" ")).toContain("(Pod failed: Evicted: the node was low on memory)");
    });

    it("is left alone when its own program failed under restartPolicy Never: the Sandbox is Finished", async () => {
      const sb = sandbox();
      const failed = livePod(sb, (p) => {
        p.spec = { ...p.spec!, restartPolicy: "Never" };
        p.status = { phase: "Failed" };
      });
      const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [failed] } });
      await reconcile(world);
      expect(verbs(world)).not.toContain("delete Pod");
      expect(verbs(world)).not.toContain("create Pod");
      expect(JSON.stringify(world.kube.writes.find((w) => w.verb === "applyStatus")?.body)).toContain('"type":"Finished"');
    });

    it("a first pod carries no notice", async () => {
      const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sandbox()] } });
      await reconcile(world);
      const pod = world.kube.writes.find((w) => w.verb === "create")?.body as V1Pod;
      expect(pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd")?.args).not.toContain("--restart-notice");
    });
  });
});

describe("Sandbox reconciler: idle timeout", () => {
  const ready = (since: string) => ({
    type: "Ready",
    status: "True" as const,
    reason: "DependenciesReady",
    message: "",
    lastTransitionTime: since,
    observedGeneration: 1,
  });

  /** The sandbox's pod, running and Ready. */
  const readyPod = (sb: TestSandbox): V1Pod =>
    livePod(sb, (p) => {
      p.status = {
        ...p.status,
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [{ name: "main", ready: true, restartCount: 0, image: "busybox", imageID: "", started: true }],
      };
    });

  function idleSandbox(annotations: Record<string, string>, readySince: string, mode: "Running" | "Suspended" = "Running"): TestSandbox {
    const sb = sandbox();
    return {
      ...sb,
      metadata: { ...sb.metadata, annotations: { ...sb.metadata.annotations, "agents.x-k8s.io/idle-timeout": "10m", ...annotations } },
      spec: { ...sb.spec, operatingMode: mode },
      status: { conditions: [ready(readySince)], podIPs: ["10.244.0.9"] },
    };
  }

  it("suspends a sandbox idle past its timeout: one conditional patch and an IdleSuspended event, nothing else", async () => {
    const sb = idleSandbox({ "agents.x-k8s.io/last-activity": "2026-01-01T11:45:00Z" }, "2026-01-01T11:00:00Z");
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [livePod(sb)] } });
    expect(await reconcile(world)).toBeUndefined();
    expect(verbs(world)).toEqual(["patch Sandbox"]);
    expect(world.kube.writes[0]?.body).toEqual({
      metadata: { uid: "uid-sb", resourceVersion: "5", annotations: { "agents.x-k8s.io/idle-suspended-at": NOW.toISOString() } },
      spec: { operatingMode: "Suspended" },
    });
    expect(world.events.events).toEqual([expect.objectContaining({ type: "Normal", reason: "IdleSuspended" })]);
  });

  it("looks again when the timeout would run out, counting from the last call", async () => {
    const sb = idleSandbox({ "agents.x-k8s.io/last-activity": "2026-01-01T11:55:00Z" }, "2026-01-01T11:00:00Z");
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [readyPod(sb)] } });
    const result = await reconcile(world);
    expect(world.kube.writes.filter((w) => w.verb === "patch")).toEqual([]);
    expect(result).toEqual({ requeueAfter: 5 * 60_000 + 1 });
  });

  it("starts the idle count in the pass that records Ready, and comes back when it runs out", async () => {
    const base = idleSandbox({}, "2026-01-01T11:00:00Z");
    const sb = { ...base, status: {} };
    const pod = readyPod(sb);
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [pod] } });
    const result = await reconcile(world);
    const written = world.kube.writes.find((w) => w.verb === "applyStatus")?.body as {
      status: { conditions: Array<{ type: string; status: string }> };
    };
    expect(written.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(result).toEqual({ requeueAfter: 10 * 60_000 + 1 });
  });

  it("takes the idle mark off a sandbox resumed by hand", async () => {
    const sb = idleSandbox({ "agents.x-k8s.io/idle-suspended-at": "2026-01-01T11:00:00Z" }, "2026-01-01T11:59:00Z");
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [livePod(sb)] } });
    await reconcile(world);
    const patch = world.kube.writes.find((w) => w.verb === "patch");
    expect(patch?.body).toEqual({ metadata: { annotations: { "agents.x-k8s.io/idle-suspended-at": null } } });
  });

  it("warns about an unreadable timeout and leaves the sandbox running", async () => {
    const sb = idleSandbox({ "agents.x-k8s.io/idle-timeout": "soon" }, "2026-01-01T00:00:00Z");
    const world = reconcilerWorld({ config: testConfig, now: NOW, cached: { sandboxes: [sb], pods: [livePod(sb)] } });
    await reconcile(world);
    expect(world.kube.writes.filter((w) => w.verb === "patch")).toEqual([]);
    expect(world.events.events).toEqual([expect.objectContaining({ type: "Warning", reason: "InvalidIdleTimeout" })]);
  });
});
