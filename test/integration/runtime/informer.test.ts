import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controllerUIDIndex,
  enqueueControllerOwner,
  enqueueOwn,
  Informer,
  labelIndex,
  type KeySink,
} from "../../../src/runtime/informer.js";
import { controllerRef } from "../../../src/runtime/ownerrefs.js";
import { Kube } from "../../../src/runtime/kube.js";
import { clusterInfo, freshNamespace, testKube, userKubeConfig, waitFor } from "../harness/cluster.js";

const kube = testKube();

class RecordingSink implements KeySink {
  keys: string[] = [];
  enqueue(key: string): void {
    this.keys.push(key);
  }
}

async function etcdRevision(etcdUrl: string): Promise<string> {
  // etcd's gRPC gateway: a range on an empty key returns the current revision in the header.
  const res = await fetch(`${etcdUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: Buffer.from("/").toString("base64") }) });
  const body = (await res.json()) as { header?: { revision?: string } };
  if (!body.header?.revision) throw new Error(`no revision from etcd: ${JSON.stringify(body)}`);
  return body.header.revision;
}

async function compactEtcd(etcdUrl: string): Promise<void> {
  const revision = await etcdRevision(etcdUrl);
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision, physical: true }) });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
}

describe("Informer against a real API server", () => {
  let ns = "";
  const informers: Informer<KubernetesObject>[] = [];
  beforeAll(async () => {
    ns = await freshNamespace("informer");
  });
  afterAll(async () => {
    await Promise.all(informers.map((i) => i.stop()));
  });

  it("syncs, tracks add/update/delete, serves get/list/byIndex and strips managedFields", async () => {
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "pre", namespace: ns, labels: { app: "x" } } });
    const inf = new Informer<KubernetesObject>({
      kube,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ns,
      indexers: { app: labelIndex("app") },
    });
    informers.push(inf);
    const events: string[] = [];
    // KCM's root-CA publisher adds kube-root-ca.crt to every namespace; ignore it.
    const mine = (o: KubernetesObject): boolean => o.metadata?.name !== "kube-root-ca.crt";
    inf.addHandler({
      add: (o) => mine(o) && events.push(`add:${o.metadata?.name}`),
      update: (o, old) =>
        mine(o) && events.push(`update:${o.metadata?.name}:${old.metadata?.labels?.["app"]}->${o.metadata?.labels?.["app"]}`),
      delete: (o) => mine(o) && events.push(`delete:${o.metadata?.name}`),
    });
    expect(inf.hasSynced()).toBe(false);
    await inf.start();
    await inf.waitForSync({ timeoutMs: 30_000 });
    expect(inf.hasSynced()).toBe(true);
    expect(events).toEqual(["add:pre"]);
    const cached = inf.get(ns, "pre");
    expect(cached?.metadata?.managedFields).toBeUndefined();
    expect(cached?.kind).toBe("ConfigMap");

    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "later", namespace: ns, labels: { app: "y" } } });
    await waitFor(() => inf.get(ns, "later"), { message: "ADDED seen" });
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "later", namespace: ns, labels: { app: "x" } } });
    await waitFor(() => inf.byIndex("app", "x").length === 2, { message: "update re-indexed" });
    expect(inf.byIndex("app", "y")).toEqual([]);
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "later" });
    await waitFor(() => inf.get(ns, "later") === undefined, { message: "DELETED seen" });

    expect(events).toEqual(["add:pre", "add:later", "update:later:y->x", "delete:later"]);
    const names = inf.list(ns).map((o) => o.metadata?.name);
    expect(names).toContain("pre");
    expect(names).not.toContain("later");
    expect(inf.list("other-namespace")).toEqual([]);
    expect(() => inf.byIndex("nope", "x")).toThrow(/no index/);
  });

  it("maps events to keys: own key and the controller owner's key", async () => {
    const owner = await kube.apply<KubernetesObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owner", namespace: ns } });
    const own = new RecordingSink();
    const owners = new RecordingSink();
    const inf = new Informer<KubernetesObject>({
      kube,
      apiVersion: "v1",
      kind: "Secret",
      namespace: ns,
      indexers: { owner: controllerUIDIndex },
    });
    informers.push(inf);
    enqueueOwn(inf, own);
    enqueueControllerOwner(inf, owners, { apiVersion: "v1", kind: "ConfigMap" });
    await inf.start();
    await inf.waitForSync();
    await kube.apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "child", namespace: ns, ownerReferences: [controllerRef(owner)] },
    });
    // Controlled by another kind (a real object, or the garbage collector would delete the Secret):
    // must not map to a ConfigMap key.
    const sa = await kube.apply<KubernetesObject>({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "owner", namespace: ns } });
    await kube.apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "foreign", namespace: ns, ownerReferences: [controllerRef(sa)] },
    });
    await waitFor(() => inf.get(ns, "foreign") && inf.get(ns, "child"));
    expect(own.keys).toEqual(expect.arrayContaining([`${ns}/child`, `${ns}/foreign`]));
    expect(owners.keys).toEqual([`${ns}/owner`]);
    expect(inf.byIndex("owner", owner.metadata?.uid ?? "").map((o) => o.metadata?.name)).toEqual(["child"]);
  });

  it("pages through large lists", async () => {
    for (let i = 0; i < 7; i++)
      await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `page-${i}`, namespace: ns, labels: { paged: "yes" } } });
    const inf = new Informer<KubernetesObject>({
      kube,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ns,
      labelSelector: "paged=yes",
      pageSize: 2,
    });
    informers.push(inf);
    await inf.start();
    await inf.waitForSync();
    expect(inf.list().length).toBe(7);
  });

  it("replays cached objects to handlers every resyncMs", async () => {
    const sink = new RecordingSink();
    const inf = new Informer<KubernetesObject>({
      kube,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ns,
      labelSelector: "app=x",
      resyncMs: 100,
    });
    informers.push(inf);
    enqueueOwn(inf, sink);
    await inf.start();
    await inf.waitForSync();
    await waitFor(() => sink.keys.filter((k) => k === `${ns}/pre`).length >= 4, { message: "resync re-enqueued the key" });
    await inf.stop();
    const seen = sink.keys.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.keys.length).toBe(seen);
  });

  it("filters by label selector", async () => {
    const inf = new Informer<KubernetesObject>({ kube, apiVersion: "v1", kind: "ConfigMap", namespace: ns, labelSelector: "app=x" });
    informers.push(inf);
    await inf.start();
    await inf.waitForSync();
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(["pre"]);
  });

  it("re-lists after 410 Gone (compacted resourceVersion) and reports deletions it missed", async () => {
    // podtemplates have no watch cache in the harness, so their watches read etcd directly.
    const tmpl = (name: string) => ({
      apiVersion: "v1",
      kind: "PodTemplate",
      metadata: { name, namespace: ns },
      template: { spec: { containers: [{ name: "c", image: "busybox" }] } },
    });
    await kube.apply(tmpl("keep"));
    await kube.apply(tmpl("doomed"));
    const inf = new Informer<KubernetesObject>({ kube, apiVersion: "v1", kind: "PodTemplate", namespace: ns });
    informers.push(inf);
    const deleted: string[] = [];
    const added: string[] = [];
    inf.addHandler({ delete: (o) => deleted.push(o.metadata?.name ?? ""), add: (o) => added.push(o.metadata?.name ?? "") });
    await inf.start();
    await inf.waitForSync();
    expect(inf.stats().lists).toBe(1);

    await inf.stop();
    await kube.delete({ apiVersion: "v1", kind: "PodTemplate", namespace: ns, name: "doomed" });
    await kube.apply(tmpl("born-while-stopped"));
    // Push etcd past the informer's resourceVersion and compact it away.
    for (let i = 0; i < 5; i++) await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `churn-${i}`, namespace: ns } });
    await compactEtcd(clusterInfo().etcdUrl);

    await inf.start();
    await waitFor(() => inf.stats().lists >= 2, { message: "re-list after 410" });
    await waitFor(() => deleted.includes("doomed") && inf.get(ns, "born-while-stopped"), { message: "cache converged after re-list" });
    expect(inf.get(ns, "doomed")).toBeUndefined();
    expect(inf.get(ns, "keep")).toBeDefined();
    expect(added).toContain("born-while-stopped");
  });

  it("watches again from the last resourceVersion when the server ends the stream, without listing again", async () => {
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "rewatch-0", namespace: ns, labels: { rewatch: "yes" } } });
    const inf = new Informer<KubernetesObject>({
      kube,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ns,
      labelSelector: "rewatch=yes",
      watchTimeoutSeconds: 1,
    });
    informers.push(inf);
    const seen: string[] = [];
    inf.addHandler({
      add: (o) => seen.push(`add:${o.metadata?.name}`),
      update: (o) => seen.push(`update:${o.metadata?.name}`),
      delete: (o) => seen.push(`delete:${o.metadata?.name}`),
    });
    await inf.start();
    await inf.waitForSync();
    const rv0 = inf.stats().resourceVersion;
    expect(rv0).not.toBe("");
    // The server ends each watch after a second; the informer opens the next one from where it was.
    await waitFor(() => inf.stats().watches >= 3, { message: "server-ended watches re-opened" });
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "rewatch-1", namespace: ns, labels: { rewatch: "yes" } } });
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "rewatch-0" });
    await waitFor(() => inf.get(ns, "rewatch-1") && !inf.get(ns, "rewatch-0"), { message: "events after re-watch" });
    expect(seen).toEqual(["add:rewatch-0", "add:rewatch-1", "delete:rewatch-0"]);
    expect(inf.stats().lists).toBe(1);
    expect(inf.stats().restarts).toBe(0);
    expect(BigInt(inf.stats().resourceVersion)).toBeGreaterThan(BigInt(rv0));
  });

  it("restarts with backoff after a non-410 error and syncs once the error clears", async () => {
    // alice has no RBAC grants: every list fails with 403 until we grant her read access.
    const aliceKube = new Kube(userKubeConfig("alice"));
    const inf = new Informer<KubernetesObject>({
      kube: aliceKube,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ns,
      restartBaseMs: 50,
      restartMaxMs: 200,
    });
    informers.push(inf);
    await inf.start();
    await waitFor(() => inf.stats().restarts >= 2, { message: "restarts after 403" });
    expect(inf.hasSynced()).toBe(false);
    await expect(inf.waitForSync({ timeoutMs: 100 })).rejects.toThrow(/did not sync/);

    await kube.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "cm-reader", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
    });
    await kube.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "alice-cm-reader", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
    });
    await inf.waitForSync({ timeoutMs: 30_000 });
    expect(inf.get(ns, "pre")).toBeDefined();
  });
});
