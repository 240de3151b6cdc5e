import { describe, expect, it } from "vitest";
import { keyOf, makeKey, splitKey } from "../../../src/runtime/keys.js";
import { controllerRef, getControllerOf, groupOf, isControlledBy, withControllerRef } from "../../../src/runtime/ownerrefs.js";

const owner = { apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", metadata: { name: "sb", namespace: "ns", uid: "u-1" } };

describe("owner references", () => {
  it("controllerRef marks the owner as controller and blocks owner deletion", () => {
    expect(controllerRef(owner)).toEqual({
      apiVersion: "agents.x-k8s.io/v1beta1",
      kind: "Sandbox",
      name: "sb",
      uid: "u-1",
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(() => controllerRef({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" } })).toThrow(/uid/);
  });

  it("finds the controller and matches it by uid", () => {
    const child = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "c", uid: "u-0" }, controllerRef(owner)] },
    };
    expect(getControllerOf(child)?.uid).toBe("u-1");
    expect(isControlledBy(child, owner)).toBe(true);
    expect(isControlledBy(child, { ...owner, metadata: { ...owner.metadata, uid: "other" } })).toBe(false);
    expect(getControllerOf({ metadata: {} })).toBeUndefined();
  });

  it("withControllerRef refuses to steal a child controlled by someone else", () => {
    const child = {
      metadata: { name: "p", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "c", uid: "u-0", controller: true }] },
    };
    expect(() => withControllerRef(child, owner)).toThrow(/already controlled by ConfigMap c/);
    const orphan = { metadata: { name: "p", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "c", uid: "u-0" }] } };
    expect(withControllerRef(orphan, owner).map((r) => r.uid)).toEqual(["u-0", "u-1"]);
  });

  it("groupOf splits apiVersion", () => {
    expect(groupOf("v1")).toBe("");
    expect(groupOf("apps/v1")).toBe("apps");
  });
});

describe("keys", () => {
  it("round-trips namespaced and cluster-scoped keys", () => {
    expect(keyOf(owner)).toBe("ns/sb");
    expect(keyOf({ metadata: { name: "node-1" } })).toBe("node-1");
    expect(splitKey("ns/sb")).toEqual({ namespace: "ns", name: "sb" });
    expect(splitKey("node-1")).toEqual({ namespace: "", name: "node-1" });
    expect(makeKey(undefined, "n")).toBe("n");
  });

  it("rejects malformed keys and nameless objects", () => {
    expect(() => splitKey("a/b/c")).toThrow(/not "namespace\/name"/);
    expect(() => splitKey("")).toThrow();
    expect(() => keyOf({ metadata: {} })).toThrow(/metadata.name/);
  });
});
