import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { Informer, labelIndex } from "../../../src/runtime/index.js";
import { unstartedKube } from "../unstarted-kube.js";

const pod = (name: string, app: string): V1Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", labels: { app } } });

describe("Informer.seed", () => {
  it("fills a cache that is never started: lookups, indexes, handlers and hasSynced as after a list", () => {
    const informer = new Informer<V1Pod>({
      kube: unstartedKube(),
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
