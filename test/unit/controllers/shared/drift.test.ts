import { describe, expect, it } from "vitest";
import { containsDesired } from "../../../../src/controllers/shared/drift.js";

describe("containsDesired", () => {
  it("accepts an actual object that holds every desired field, ignoring fields desired leaves out", () => {
    const actual = { metadata: { name: "a", uid: "u", resourceVersion: "7" }, spec: { clusterIP: "None", sessionAffinity: "None" } };
    expect(containsDesired(actual, { metadata: { name: "a" }, spec: { clusterIP: "None" } })).toBe(true);
  });

  it("detects a changed scalar", () => {
    expect(containsDesired({ spec: { clusterIP: "10.0.0.1" } }, { spec: { clusterIP: "None" } })).toBe(false);
    expect(containsDesired({ spec: { replicas: 1 } }, { spec: { replicas: 2 } })).toBe(false);
    expect(containsDesired({ spec: { on: false } }, { spec: { on: true } })).toBe(false);
  });

  it("detects a field desired sets that actual lacks", () => {
    expect(containsDesired({ spec: {} }, { spec: { clusterIP: "None" } })).toBe(false);
    expect(containsDesired({}, { spec: { clusterIP: "None" } })).toBe(false);
  });

  it("does not confuse a scalar with an object or an array with a map", () => {
    expect(containsDesired({ spec: "x" }, { spec: { a: 1 } })).toBe(false);
    expect(containsDesired({ spec: [1] }, { spec: { a: 1 } })).toBe(false);
    expect(containsDesired({ spec: { a: 1 } }, { spec: [1] })).toBe(false);
    expect(containsDesired({ spec: null }, { spec: { a: 1 } })).toBe(false);
  });

  it("treats undefined desired fields as unset", () => {
    expect(containsDesired({ metadata: { name: "a" } }, { metadata: { name: "a", labels: undefined } })).toBe(true);
  });

  it("lets an empty desired list match an absent field (the API server omits it) but not a non-empty one", () => {
    expect(containsDesired({ spec: {} }, { spec: { egress: [] } })).toBe(true);
    expect(containsDesired({ spec: { egress: [] } }, { spec: { egress: [] } })).toBe(true);
    expect(containsDesired({ spec: { egress: [{ to: [] }] } }, { spec: { egress: [] } })).toBe(false);
  });

  it("does not let an absent desired-list-with-items match", () => {
    expect(containsDesired({ spec: {} }, { spec: { ports: [{ port: 80 }] } })).toBe(false);
  });

  it("compares arrays element by element and requires the same length", () => {
    const desired = { spec: { ports: [{ port: 80 }, { port: 443 }] } };
    expect(
      containsDesired(
        {
          spec: {
            ports: [
              { port: 80, protocol: "TCP" },
              { port: 443, protocol: "TCP" },
            ],
          },
        },
        desired,
      ),
    ).toBe(true);
    expect(containsDesired({ spec: { ports: [{ port: 80 }] } }, desired)).toBe(false);
    expect(containsDesired({ spec: { ports: [{ port: 80 }, { port: 443 }, { port: 8080 }] } }, desired)).toBe(false);
    expect(containsDesired({ spec: { ports: [{ port: 443 }, { port: 80 }] } }, desired)).toBe(false);
  });

  it("ignores extra map keys outside exactPaths", () => {
    const actual = { spec: { selector: { a: "1", extra: "2" } } };
    expect(containsDesired(actual, { spec: { selector: { a: "1" } } })).toBe(true);
  });

  it("detects extra map keys under an exact path", () => {
    const actual = { spec: { selector: { a: "1", extra: "2" } } };
    expect(containsDesired(actual, { spec: { selector: { a: "1" } } }, ["spec.selector"])).toBe(false);
    expect(containsDesired({ spec: { selector: { a: "1" } } }, { spec: { selector: { a: "1" } } }, ["spec.selector"])).toBe(true);
  });

  it("keeps subset semantics for siblings of an exact path", () => {
    const actual = { metadata: { labels: { a: "1", other: "x" } }, spec: { selector: { a: "1" } } };
    expect(containsDesired(actual, { metadata: { labels: { a: "1" } }, spec: { selector: { a: "1" } } }, ["spec.selector"])).toBe(true);
  });

  it("compares a whole exact subtree, extra nested peers and list items included", () => {
    const desired = { spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: "r" } } }] }], egress: [] } };
    const same = { spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: "r" } } }] }] } };
    expect(containsDesired(same, desired, ["spec"])).toBe(true);
    const extraPeer = {
      spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: "r" } } }, { ipBlock: { cidr: "0.0.0.0/0" } }] }] },
    };
    expect(containsDesired(extraPeer, desired, ["spec"])).toBe(false);
    const openedEgress = { spec: { ...same.spec, egress: [{}] } };
    expect(containsDesired(openedEgress, desired, ["spec"])).toBe(false);
    const extraLabel = { spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: "r", x: "y" } } }] }] } };
    expect(containsDesired(extraLabel, desired, ["spec"])).toBe(false);
  });

  it("under an exact path, an empty map the desired object sets matches an absent one (the API server drops it)", () => {
    expect(containsDesired({ spec: { selector: {} } }, { spec: { selector: {} } }, ["spec"])).toBe(true);
    expect(containsDesired({ spec: {} }, { spec: { selector: {} } }, ["spec"])).toBe(true);
    expect(containsDesired({ spec: { a: { labels: {} } } }, { spec: { a: {} } }, ["spec"])).toBe(false);
  });

  it("under an exact path, detects an empty selector someone added where the desired object has none", () => {
    // In a NetworkPolicy peer, namespaceSelector: {} means "every namespace": adding it to a
    // podSelector-only peer widens the policy from one namespace to the whole cluster.
    const desired = { spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: "r" } } }] }] } };
    const widened = { spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: "r" } }, namespaceSelector: {} }] }] } };
    expect(containsDesired(widened, desired, ["spec"])).toBe(false);
    expect(containsDesired(structuredClone(desired), desired, ["spec"])).toBe(true);
  });

  it("under an exact path, an empty list equals an absent one either way (the API server omits empty lists)", () => {
    expect(containsDesired({ spec: { ingress: [{ ports: [] }] } }, { spec: { ingress: [{}] } }, ["spec"])).toBe(true);
    expect(containsDesired({ spec: { ingress: [{}] } }, { spec: { ingress: [{ ports: [] }] } }, ["spec"])).toBe(true);
  });

  it("matches an exact path inside list items with the [] suffix", () => {
    const desired = { spec: { items: [{ sel: { a: "1" } }] } };
    const actual = { spec: { items: [{ sel: { a: "1", b: "2" } }] } };
    expect(containsDesired(actual, desired)).toBe(true);
    expect(containsDesired(actual, desired, ["spec.items[].sel"])).toBe(false);
  });
});
