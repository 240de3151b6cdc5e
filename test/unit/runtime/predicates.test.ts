import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { generationChanged, specOrMetadataChanged } from "../../../src/runtime/predicates.js";

const base: KubernetesObject & { status?: { n: number } } = {
  apiVersion: "v1",
  kind: "Thing",
  metadata: { name: "a", namespace: "ns", generation: 3, resourceVersion: "10", labels: { a: "1" }, annotations: { b: "2" } },
  status: { n: 1 },
};

/** The same object at the next resourceVersion, edited. */
function next(edit: (o: typeof base) => typeof base): typeof base {
  const copy = structuredClone(base);
  copy.metadata = { ...copy.metadata, resourceVersion: "11" };
  return edit(copy);
}

describe("generationChanged", () => {
  it("drops an update that leaves the generation alone (a status write)", () => {
    expect(
      generationChanged(
        next((o) => ({ ...o, status: { n: 2 } })),
        base,
      ),
    ).toBe(false);
  });
  it("passes a new generation", () => {
    expect(
      generationChanged(
        next((o) => ({ ...o, metadata: { ...o.metadata, generation: 4 } })),
        base,
      ),
    ).toBe(true);
  });
  it("passes objects without a generation, which cannot tell spec from status", () => {
    const noGen = next((o) => ({ ...o, metadata: { ...o.metadata, generation: undefined } }));
    expect(generationChanged(noGen, noGen)).toBe(true);
  });
});

describe("specOrMetadataChanged", () => {
  it("drops a status-only write", () => {
    expect(
      specOrMetadataChanged(
        next((o) => ({ ...o, status: { n: 5 } })),
        base,
      ),
    ).toBe(false);
  });
  it.each([
    ["generation", (o: typeof base) => ({ ...o, metadata: { ...o.metadata, generation: 4 } })],
    ["a label", (o: typeof base) => ({ ...o, metadata: { ...o.metadata, labels: { a: "9" } } })],
    ["an annotation", (o: typeof base) => ({ ...o, metadata: { ...o.metadata, annotations: {} } })],
    [
      "owner references",
      (o: typeof base) => ({
        ...o,
        metadata: { ...o.metadata, ownerReferences: [{ apiVersion: "v1", kind: "X", name: "x", uid: "u", controller: true }] },
      }),
    ],
    ["finalizers", (o: typeof base) => ({ ...o, metadata: { ...o.metadata, finalizers: ["f"] } })],
    ["the deletion timestamp", (o: typeof base) => ({ ...o, metadata: { ...o.metadata, deletionTimestamp: new Date(0) } })],
  ])("passes a change of %s", (_what, edit) => {
    expect(specOrMetadataChanged(next(edit), base)).toBe(true);
  });
});
