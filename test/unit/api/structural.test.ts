import { z } from "zod";
import { describe, expect, it } from "vitest";
import { crdSchema, StructuralSchemaError, toStructural } from "../../../scripts/lib/structural.js";
import { EMBEDDED_TYPE_MARKER, intOrString, quantity } from "../../../src/api/index.js";

describe("structural post-pass", () => {
  it("rejects $ref and names the path", () => {
    expect(() => toStructural({ type: "object", properties: { a: { $ref: "#/x" } } })).toThrow(/<root>\.a: "\$ref" cannot be expressed/);
  });

  it("rejects patternProperties", () => {
    expect(() => toStructural({ type: "object", patternProperties: { "^x": { type: "string" } } })).toThrow(StructuralSchemaError);
  });

  it("rejects const", () => {
    expect(() => toStructural({ type: "string", const: "x" })).toThrow(/"const"/);
  });

  it("rejects additionalProperties: false, which z.strictObject produces", () => {
    const strict = z.strictObject({ a: z.string() });
    const raw = z.toJSONSchema(strict, { target: "openapi-3.0", io: "output" });
    expect(() => toStructural(raw)).toThrow(/additionalProperties: false/);
  });

  it("rejects uniqueItems: true", () => {
    expect(() => toStructural({ type: "array", items: { type: "string" }, uniqueItems: true })).toThrow(/uniqueItems/);
  });

  it("rejects unions other than int-or-string", () => {
    expect(() => crdSchema(z.object({ u: z.union([z.string(), z.boolean()]) }))).toThrow(/<root>\.u: unions/);
  });

  it("rejects a node without a type", () => {
    expect(() => toStructural({ type: "object", properties: { a: { description: "x" } } })).toThrow(
      /<root>\.a: every schema node needs a type/,
    );
  });

  it("rejects properties mixed with additionalProperties", () => {
    expect(() => toStructural({ type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "string" } })).toThrow(
      /mutually exclusive/,
    );
  });

  it("refuses what zod itself cannot represent (transform output, cycles)", () => {
    type Tree = { children?: Tree[] };
    const tree: z.ZodType<Tree> = z.lazy(() => z.object({ children: z.array(tree).optional() }));
    expect(() => crdSchema(z.object({ t: tree }))).toThrow();
    expect(() => crdSchema(z.object({ d: z.date() }))).toThrow();
  });

  it("strips $schema, id, readOnly, deprecated and zod's safe-integer bounds", () => {
    const out = toStructural({
      $schema: "x",
      id: "y",
      type: "object",
      properties: {
        n: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991, readOnly: true, deprecated: true },
      },
    });
    expect(out).toEqual({ type: "object", properties: { n: { type: "integer" } } });
  });

  it("emits int-or-string exactly as controller-gen does, pattern hoisted", () => {
    const out = crdSchema(z.object({ port: intOrString(), cpu: quantity() }));
    const props = out.properties as Record<string, Record<string, unknown>>;
    expect(props.port).toEqual({ anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true });
    expect(props.cpu?.anyOf).toEqual([{ type: "integer" }, { type: "string" }]);
    expect(props.cpu?.pattern).toMatch(/KMGTPE/);
    expect(props.cpu?.type).toBeUndefined();
  });

  it("turns loose objects into x-kubernetes-preserve-unknown-fields", () => {
    const out = crdSchema(z.object({ free: z.looseObject({}) }));
    const free = (out.properties as Record<string, unknown>).free;
    expect(free).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
  });

  it("drops the date-time pattern zod adds but keeps the format", () => {
    const out = crdSchema(z.object({ t: z.iso.datetime() }));
    expect((out.properties as Record<string, unknown>).t).toEqual({ type: "string", format: "date-time" });
  });

  it("drops descriptions under an embedded Kubernetes type but keeps the node's own", () => {
    const inner = z.object({ a: z.string().describe("inner a") }).describe("Inner type");
    const out = crdSchema(z.object({ e: inner.meta({ [EMBEDDED_TYPE_MARKER]: true }).describe("ours") }));
    expect((out.properties as Record<string, unknown>).e).toEqual({
      description: "ours",
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
    });
  });
});
