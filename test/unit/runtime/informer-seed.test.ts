import { KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { Informer, Kube, labelIndex } from "../../../src/runtime/index.js";

function unreachableKube(): Kube {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "none", server: "https://127.0.0.1:1" }],
    users: [{ name: "none" }],
    contexts: [{ name: "none", cluster: "none", user: "none" }],
    currentContext: "none",
  });
  return new Kube(kc);
}

const pod = (name: string, app: string): V1Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", labels: { app } } });

describe("Informer.seed", () => {
  it("fills a cache that is never started: lookups, indexes, handlers and hasSynced as after a list", () => {
    const informer = new Informer<V1Pod>({
      kube: unreachableKube(),
      apiVersion: "v1",
      kind: "Pod",
      indexers: { byApp: labelIndex("app") },
    });
    const added: string[] = [];
    informer.addHandler({ add: (p) => added.push(p.metadata?.name ?? "") });
    expect(informer.hasSynced()).toBe(false);
    informer.seed([pod("a", "web"), pod("b", "db"), pod("c", "web")]);
    expect(informer.hasSynced()).toBe(true);
    expect(informer.get("ns", "b")?.metadata?.labels).toEqual({ app: "db" });
    expect(
      informer
        .byIndex("byApp", "web")
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(["a", "c"]);
    expect(informer.list("ns")).toHaveLength(3);
    expect(added).toEqual(["a", "b", "c"]);
  });
});
