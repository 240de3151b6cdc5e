// Read-your-writes: the caches show this process's writes until their watch brings the same or a
// newer version, and only writes the informer would watch.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  Informer,
  labelIndex,
  matchesLabelSelector,
  readYourWrites,
  type ObjectClient,
  type ObjectRef,
} from "../../../src/runtime/index.js";
import { unstartedKube } from "../unstarted-kube.js";

const pod = (name: string, rv: string, app = "web", namespace = "ns"): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, resourceVersion: rv, labels: { app, managed: "yes" } },
});

function podCache(o: { labelSelector?: string; namespace?: string; prune?: (p: V1Pod) => void } = {}): Informer<V1Pod> {
  const informer = new Informer<V1Pod>({
    kube: unstartedKube(),
    apiVersion: "v1",
    kind: "Pod",
    indexers: { byApp: labelIndex("app") },
    ...o,
  });
  informer.seed([pod("a", "10"), pod("b", "11", "db")]);
  return informer;
}

const names = (pods: V1Pod[]): string[] => pods.map((p) => p.metadata?.name ?? "").sort();

afterEach(() => vi.useRealTimers());

describe("Informer.observe", () => {
  it("shows a newer version at once, in lookups, lists and indexes", () => {
    const cache = podCache();
    cache.observe(pod("a", "12", "db"));
    expect(cache.get("ns", "a")?.metadata?.resourceVersion).toBe("12");
    expect(names(cache.byIndex("byApp", "db"))).toEqual(["a", "b"]);
    expect(names(cache.byIndex("byApp", "web"))).toEqual([]);
    expect(cache.list("ns")).toHaveLength(2);
    expect(cache.pendingWrites).toBe(1);
  });

  it("ignores a version the cache already has or has passed", () => {
    const cache = podCache();
    cache.observe(pod("a", "10", "db"));
    cache.observe(pod("a", "9", "db"));
    expect(cache.get("ns", "a")?.metadata?.labels?.["app"]).toBe("web");
    expect(cache.pendingWrites).toBe(0);
  });

  it("keeps the newest of several writes", () => {
    const cache = podCache();
    cache.observe(pod("a", "14", "db"));
    cache.observe(pod("a", "13", "cache"));
    expect(cache.get("ns", "a")?.metadata?.labels?.["app"]).toBe("db");
  });

  it("steps aside once the watch brings that version or a newer one", () => {
    const cache = podCache();
    cache.observe(pod("a", "12", "db"));
    cache.seed([pod("a", "13", "queue")]); // as a watch event would
    expect(cache.get("ns", "a")?.metadata?.labels?.["app"]).toBe("queue");
    expect(names(cache.byIndex("byApp", "db"))).toEqual(["b"]);
    expect(cache.pendingWrites).toBe(0);
  });

  it("shows a created object the watch has not brought yet", () => {
    const cache = podCache();
    cache.observe(pod("c", "20"));
    expect(cache.get("ns", "c")).toBeDefined();
    expect(cache.keys().sort()).toEqual(["ns/a", "ns/b", "ns/c"]);
    expect(names(cache.list())).toEqual(["a", "b", "c"]);
    expect(names(cache.byIndex("byApp", "web"))).toEqual(["a", "c"]);
  });

  it("shows nothing its watch would not bring: another namespace, labels off its selector, unordered versions", () => {
    const cache = podCache({ labelSelector: "managed=yes", namespace: "ns" });
    cache.observe(pod("c", "20", "web", "other"));
    cache.observe({ ...pod("d", "21"), metadata: { ...pod("d", "21").metadata, labels: { app: "web" } } });
    cache.observe(pod("e", "not-a-number"));
    expect(cache.keys().sort()).toEqual(["ns/a", "ns/b"]);
    const setBased = podCache({ labelSelector: "app in (web)" });
    setBased.observe(pod("c", "20"));
    expect(setBased.get("ns", "c")).toBeUndefined();
  });

  it("prunes a copy as the cache prunes what it lists, and leaves the caller's object alone", () => {
    const cache = podCache({ prune: (p) => void delete p.metadata?.labels?.["managed"] });
    const written = pod("a", "12");
    cache.observe(written);
    expect(cache.get("ns", "a")?.metadata?.labels).toEqual({ app: "web" });
    expect(written.metadata?.labels).toEqual({ app: "web", managed: "yes" });
  });

  it("stops showing a write the watch never brings after a minute", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const cache = podCache();
    cache.observe(pod("c", "20"));
    vi.setSystemTime(1_000_000 + 59_000);
    expect(cache.get("ns", "c")).toBeDefined();
    vi.setSystemTime(1_000_000 + 60_000);
    expect(cache.get("ns", "c")).toBeUndefined();
  });
});

describe("readYourWrites", () => {
  /** An in-memory client that answers every write with the object at a new version. */
  function client(): ObjectClient & { rv: number } {
    const stamp = <T>(o: T, c: { rv: number }): T => {
      const obj = structuredClone(o) as KubernetesObject;
      obj.metadata = { ...obj.metadata, resourceVersion: String(++c.rv) };
      return obj as T;
    };
    const c = {
      rv: 100,
      getOrUndefined: async () => undefined,
      create: async <T>(o: T) => stamp(o, c),
      apply: async <T>(o: T) => stamp(o, c),
      applyStatus: async <T>(o: T) => stamp(o, c),
      patch: async <T extends KubernetesObject>(ref: ObjectRef, body: unknown) =>
        stamp(
          {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { name: ref.name, namespace: ref.namespace, ...(body as KubernetesObject).metadata },
          },
          c,
        ) as T,
      delete: async () => undefined,
    };
    return c as unknown as ObjectClient & { rv: number };
  }

  it("records what each write returned in the cache of its kind, and nothing for dry runs", async () => {
    const pods = podCache();
    const kube = readYourWrites(client(), [pods as unknown as Informer<KubernetesObject>]);
    await kube.create(pod("c", "0"));
    await kube.patch({ apiVersion: "v1", kind: "Pod", namespace: "ns", name: "a" }, { metadata: { labels: { app: "db" } } });
    await kube.apply(pod("d", "0"), { dryRun: true });
    await kube.create({ apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "ns" } });
    expect(names(pods.list())).toEqual(["a", "b", "c"]);
    expect(names(pods.byIndex("byApp", "db"))).toEqual(["a", "b"]);
  });
});

describe("matchesLabelSelector", () => {
  it("reads equality-based selectors", () => {
    const labels = { app: "web", tier: "front" };
    expect(matchesLabelSelector(undefined, labels)).toBe(true);
    expect(matchesLabelSelector("app=web,tier==front", labels)).toBe(true);
    expect(matchesLabelSelector("app!=db,tier,!canary", labels)).toBe(true);
    expect(matchesLabelSelector("app=db", labels)).toBe(false);
    expect(matchesLabelSelector("canary", labels)).toBe(false);
    expect(matchesLabelSelector("!app", labels)).toBe(false);
    expect(matchesLabelSelector("app in (web)", labels)).toBe(false);
  });
});
