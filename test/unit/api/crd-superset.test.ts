// The comparison behind upstream-superset.test.ts, on small hand-made schemas: it must catch each
// kind of difference (and stay quiet about what only loosens validation).
import { describe, expect, it } from "vitest";
import { compareCrds, compareSchemas, type CrdLike, type SchemaNode } from "./crd-superset.js";

const ids = (u: SchemaNode, o: SchemaNode): string[] => compareSchemas(u, o, "K ").map((d) => d.id);
const obj = (properties: Record<string, SchemaNode>, extra: SchemaNode = {}): SchemaNode => ({
  type: "object",
  properties,
  ...extra,
});

describe("compareSchemas", () => {
  it("finds nothing between equal schemas", () => {
    const s = obj({ a: { type: "string", maxLength: 5 }, b: { type: "array", items: { type: "integer" } } });
    expect(ids(s, structuredClone(s))).toEqual([]);
  });

  it("reports missing and extra fields with their paths", () => {
    expect(ids(obj({ a: obj({ b: { type: "string" } }) }), obj({ a: obj({ c: { type: "string" } }) }))).toEqual([
      "K .a.b missing",
      "K .a.c extra",
    ]);
  });

  it("reports a different type", () => {
    expect(ids(obj({ a: { type: "string" } }), obj({ a: { type: "integer" } }))).toEqual(["K .a type"]);
  });

  it("reports stricter bounds and ignores looser ones", () => {
    const u = obj({ s: { type: "string", maxLength: 10, minLength: 2 }, n: { type: "integer", minimum: 0 } });
    expect(ids(u, obj({ s: { type: "string", maxLength: 5, minLength: 3 }, n: { type: "integer", minimum: 1 } }))).toEqual([
      "K .s maxLength",
      "K .s minLength",
      "K .n minimum",
    ]);
    expect(ids(u, obj({ s: { type: "string", maxLength: 20 }, n: { type: "integer" } }))).toEqual([]);
    expect(ids(obj({ s: { type: "string" } }), obj({ s: { type: "string", maxLength: 63 } }))).toEqual(["K .s maxLength"]);
  });

  it("reports a pattern or format upstream does not have", () => {
    expect(ids(obj({ s: { type: "string" } }), obj({ s: { type: "string", pattern: "^a$", format: "date-time" } }))).toEqual([
      "K .s pattern",
      "K .s format",
    ]);
  });

  it("reports fields only ours requires", () => {
    const u = obj({ a: { type: "string" }, b: { type: "string" } }, { required: ["a"] });
    expect(ids(u, { ...u, required: ["a", "b"] })).toEqual(["K . required"]);
    expect(ids(u, { ...u, required: [] })).toEqual([]);
  });

  it("reports an enum value ours rejects, and an enum upstream does not have", () => {
    expect(ids({ type: "string", enum: ["A", "B"] }, { type: "string", enum: ["A"] })).toEqual(["K . enum"]);
    expect(ids({ type: "string", enum: ["A"] }, { type: "string", enum: ["A", "B"] })).toEqual([]);
    expect(ids({ type: "string" }, { type: "string", enum: ["A"] })).toEqual(["K . enum"]);
  });

  it("reports different defaults either way", () => {
    expect(ids({ type: "string", default: "A" }, { type: "string" })).toEqual(["K . default"]);
    expect(ids({ type: "string" }, { type: "string", default: "A" })).toEqual(["K . default"]);
  });

  it("treats unstated list and map types as the API server's defaults", () => {
    const list = { type: "array", items: { type: "string" } };
    expect(ids(list, { ...list, "x-kubernetes-list-type": "atomic" })).toEqual([]);
    expect(ids(list, { ...list, "x-kubernetes-list-type": "set" })).toEqual(["K . x-kubernetes-list-type"]);
    expect(ids(obj({}), obj({}, { "x-kubernetes-map-type": "granular" }))).toEqual([]);
    expect(ids(obj({}, { "x-kubernetes-map-type": "atomic" }), obj({}))).toEqual(["K . x-kubernetes-map-type"]);
  });

  it("reports int-or-string, preserve-unknown-fields and embedded-resource mismatches", () => {
    expect(ids({ "x-kubernetes-int-or-string": true }, { type: "string" })).toEqual(["K . type", "K . x-kubernetes-int-or-string"]);
    expect(ids(obj({}), obj({}, { "x-kubernetes-preserve-unknown-fields": true }))).toEqual(["K . x-kubernetes-preserve-unknown-fields"]);
    expect(ids(obj({}, { "x-kubernetes-embedded-resource": true }), obj({}))).toEqual(["K . x-kubernetes-embedded-resource"]);
  });

  it("reports CEL rules only one side has", () => {
    const rule = (r: string): SchemaNode => ({ rule: r, message: "m" });
    expect(ids(obj({}, { "x-kubernetes-validations": [rule("a")] }), obj({}, { "x-kubernetes-validations": [rule("b")] }))).toEqual([
      "K . x-kubernetes-validations",
      "K . x-kubernetes-validations lost",
    ]);
  });

  it("walks items and additionalProperties", () => {
    const u = obj({
      l: { type: "array", items: obj({ x: { type: "string" } }) },
      m: { type: "object", additionalProperties: { type: "string" } },
    });
    const o = obj({ l: { type: "array", items: obj({}) }, m: { type: "object", additionalProperties: { type: "string", maxLength: 1 } } });
    expect(ids(u, o)).toEqual(["K .l[*].x missing", "K .m{*} maxLength"]);
  });
});

describe("compareCrds", () => {
  const crd = (over: Partial<CrdLike["spec"]> = {}): CrdLike => ({
    spec: {
      group: "g.example.com",
      names: { kind: "K", plural: "ks", singular: "k", shortNames: ["kk"] },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: obj({}) },
          subresources: { status: {}, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" } },
          additionalPrinterColumns: [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }],
        },
      ],
      ...over,
    },
  });
  const crdIds = (u: CrdLike, o: CrdLike): string[] => compareCrds(u, o).map((d) => d.id);

  it("finds nothing between equal CRDs", () => {
    expect(crdIds(crd(), crd())).toEqual([]);
  });

  it("reports names, scope, served versions, subresources and printer columns", () => {
    const base = crd().spec.versions[0]!;
    const other = crd({
      names: { kind: "K", plural: "ks", singular: "k", shortNames: ["x"] },
      scope: "Cluster",
      versions: [
        { ...base, subresources: { status: {} }, additionalPrinterColumns: [] },
        { ...base, name: "v2", storage: false },
      ],
    });
    expect(crdIds(crd(), other)).toEqual([
      "K crd scope",
      "K crd names.shortNames",
      "K crd served versions",
      "K crd v1 subresources",
      "K crd v1 additionalPrinterColumns",
    ]);
  });
});
