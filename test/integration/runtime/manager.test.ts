import { CoordinationV1Api, V1MicroTime, type KubernetesObject } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { defineController } from "../../../src/runtime/controller.js";
import { enqueueControllerOwner, enqueueOwn, Informer } from "../../../src/runtime/informer.js";
import { LeaderElectionLostError, Manager } from "../../../src/runtime/manager.js";
import { controllerRef } from "../../../src/runtime/ownerrefs.js";
import { freshNamespace, testKube, testKubeConfig, waitFor } from "../harness/cluster.js";

const kube = testKube();

interface CM extends KubernetesObject {
  data?: Record<string, string>;
}

/** A tiny controller: every ConfigMap labelled role=source gets a child ConfigMap "<name>-copy". */
function copyController(ns: string, registry: Registry, name: string) {
  const sources = new Informer<CM>({ kube, apiVersion: "v1", kind: "ConfigMap", namespace: ns, labelSelector: "role=source" });
  const copies = new Informer<CM>({ kube, apiVersion: "v1", kind: "ConfigMap", namespace: ns, labelSelector: "role=copy" });
  const reconciled: string[] = [];
  const c = defineController({
    name,
    registry,
    reconcile: async (key, ctx) => {
      reconciled.push(key);
      const src = sources.get(ctx.namespace, ctx.name);
      if (!src) return; // deleted: the garbage collector removes the copy
      await kube.apply(
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `${ctx.name}-copy`, namespace: ctx.namespace, labels: { role: "copy" }, ownerReferences: [controllerRef(src)] },
          data: src.data ?? {},
        },
        { signal: ctx.signal },
      );
    },
  });
  enqueueOwn(sources, c);
  enqueueControllerOwner(copies, c, { apiVersion: "v1", kind: "ConfigMap" });
  return { sources, copies, c, reconciled };
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe("Manager", () => {
  let ns = "";
  const managers: Manager[] = [];
  beforeAll(async () => {
    ns = await freshNamespace("manager");
  });
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.stop()));
  });

  it("syncs caches, runs the controller, serves /healthz /readyz /metrics and stops gracefully", async () => {
    const registry = new Registry();
    const mgr = new Manager({ registry, healthServer: { host: "127.0.0.1", port: 0 }, shutdownTimeoutMs: 5_000 });
    managers.push(mgr);
    const { sources, copies, c } = copyController(ns, registry, "copy-a");
    mgr.addInformer(sources);
    mgr.addInformer(copies);
    mgr.addController(c);
    await kube.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "s1", namespace: ns, labels: { role: "source" } },
      data: { k: "v" },
    });

    const done = mgr.start();
    const addr = await mgr.listening();
    const port = addr?.port ?? 0;
    expect(port).toBeGreaterThan(0);
    expect((await get(port, "/healthz")).status).toBe(200);
    await waitFor(async () => (await get(port, "/readyz")).status === 200, { message: "ready after sync" });

    const copy = await waitFor(() => kube.getOrUndefined<CM>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "s1-copy" }));
    expect(copy.data).toEqual({ k: "v" });

    // Drift on the child maps back to the owner's key and is corrected.
    await kube.patch(
      { apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "s1-copy" },
      { data: { k: "drifted" } },
      { type: "merge" },
    );
    await waitFor(
      async () => (await kube.get<CM>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "s1-copy" })).data?.["k"] === "v",
      {
        message: "drift corrected",
      },
    );

    const metrics = await get(port, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/controller_runtime_reconcile_total\{controller="copy-a",result="success"\} [1-9]/);
    expect(metrics.body).toContain("controller_runtime_reconcile_time_seconds_bucket");
    expect(metrics.body).toContain('workqueue_depth{name="copy-a"}');
    expect(metrics.body).toContain('controller_runtime_active_workers{controller="copy-a"}');

    await mgr.stop();
    await done;
    await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();
  });

  it("with leader election only the leader reconciles; the standby keeps warm caches, is ready and takes over after a graceful stop", async () => {
    const le = {
      kc: testKubeConfig(),
      namespace: ns,
      name: "copy-leader",
      leaseDurationMs: 5_000,
      renewDeadlineMs: 3_500,
      retryPeriodMs: 500,
    };
    const mk = (id: string) => {
      const registry = new Registry();
      const mgr = new Manager({
        registry,
        healthServer: { host: "127.0.0.1", port: 0 },
        leaderElection: { ...le, identity: id },
        shutdownTimeoutMs: 5_000,
      });
      const ctl = copyController(ns, registry, `copy-${id}`);
      mgr.addInformer(ctl.sources);
      mgr.addInformer(ctl.copies);
      mgr.addController(ctl.c);
      managers.push(mgr);
      return { mgr, ctl, done: mgr.start() };
    };
    const a = mk("a");
    await waitFor(() => a.mgr.elector?.isLeader(), { message: "a leads" });
    const b = mk("b");
    const bPort = (await b.mgr.listening())?.port ?? 0;
    await waitFor(async () => (await get(bPort, "/readyz")).status === 200, { message: "standby ready" });
    expect(b.mgr.elector?.isLeader()).toBe(false);

    await kube.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "s2", namespace: ns, labels: { role: "source" } },
      data: { x: "1" },
    });
    await waitFor(() => kube.getOrUndefined({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "s2-copy" }));
    expect(a.ctl.reconciled).toContain(`${ns}/s2`);
    expect(b.ctl.reconciled).toEqual([]);
    // The standby's caches are filled and kept current while it waits: a takeover needs no re-list.
    expect(b.ctl.sources.hasSynced()).toBe(true);
    await waitFor(() => b.ctl.sources.get(ns, "s2") !== undefined, { message: "the standby's cache sees s2" });

    await a.mgr.stop();
    await a.done;
    await waitFor(() => b.mgr.elector?.isLeader(), { timeoutMs: 20_000, message: "b takes over" });
    await waitFor(() => b.ctl.reconciled.includes(`${ns}/s2`), { message: "b reconciles after taking over" });
  });

  it("stops without drain and rejects start() with LeaderElectionLostError when the lease is taken away", async () => {
    const registry = new Registry();
    const mgr = new Manager({
      registry,
      healthServer: { host: "127.0.0.1", port: 0 },
      leaderElection: {
        kc: testKubeConfig(),
        namespace: ns,
        name: "lost-leader",
        identity: "me",
        leaseDurationMs: 5_000,
        renewDeadlineMs: 3_500,
        retryPeriodMs: 500,
      },
    });
    const ctl = copyController(ns, registry, "copy-lost");
    mgr.addInformer(ctl.sources);
    mgr.addInformer(ctl.copies);
    mgr.addController(ctl.c);
    const outcome = mgr.start().then(
      () => "resolved",
      (e: unknown) => (e instanceof LeaderElectionLostError ? "lost" : `other: ${String(e)}`),
    );
    await waitFor(() => mgr.isReady() && mgr.elector?.isLeader(), { message: "leading and ready" });
    const leases = testKubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await leases.readNamespacedLease({ name: "lost-leader", namespace: ns });
    await leases.replaceNamespacedLease({
      name: "lost-leader",
      namespace: ns,
      body: {
        ...lease,
        spec: {
          holderIdentity: "usurper",
          leaseDurationSeconds: 3600,
          renewTime: new V1MicroTime(),
          acquireTime: new V1MicroTime(),
          leaseTransitions: 1,
        },
      },
    });
    expect(await outcome).toBe("lost");
    expect(mgr.isReady()).toBe(false);
    expect(ctl.c.queue.shuttingDown).toBe(true);
  });
});
