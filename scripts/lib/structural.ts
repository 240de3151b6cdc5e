// Turns zod's JSON Schema output into a Kubernetes *structural* schema that the API server accepts
// in a CRD (apiextensions.k8s.io/v1). zod knows nothing about CRDs, so this pass strips what the
// API server forbids, rewrites what it spells differently, and fails loudly on anything that
// cannot be expressed, naming the offending path, instead of letting the API server prune fields
// silently.
import { z } from "zod";
import { EMBEDDED_TYPE_MARKER } from "../../src/api/core-primitives.js";

export type JsonSchema = { [key: string]: unknown };

export class StructuralSchemaError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "StructuralSchemaError";
  }
}

/** Keys the API server rejects in a CRD schema (or that carry no meaning there) and we can drop. */
const STRIPPED = new Set([
  "$schema",
  "$defs",
  "definitions",
  "id",
  "$id",
  "readOnly",
  "writeOnly",
  "deprecated",
  "propertyNames",
  "examples",
]);
/** Keys that mean the zod schema uses something a structural schema cannot say. */
const FORBIDDEN = ["$ref", "patternProperties", "const", "dependencies", "not", "if", "then", "else", "prefixItems"];
/**
 * Marker (set with `.meta({ [EMBEDDED_TYPE_MARKER]: true })`) on an embedded Kubernetes type such as
 * PodSpec. Descriptions below it are dropped from the CRD, like upstream's controller-gen
 * `crd:maxDescLen=0`: with them the Sandbox CRD is ~300 KB of JSON, over the 256 KiB limit of the
 * last-applied annotation that a client-side `kubectl apply -f crds/` writes. The zod schemas and
 * the generated TypeScript keep the descriptions; `kubectl explain pod.spec` documents those fields.
 */
export { EMBEDDED_TYPE_MARKER };

/** Bounds zod adds to every z.number().int(); meaningless in a CRD. */
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]);

function isObject(v: unknown): v is JsonSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function intOrString(node: JsonSchema, path: string): JsonSchema {
  const branches = (node.anyOf ?? node.oneOf) as unknown;
  if (!Array.isArray(branches)) throw new StructuralSchemaError(path, "x-kubernetes-int-or-string without anyOf branches");
  let pattern: unknown;
  for (const b of branches) {
    if (!isObject(b) || (b.type !== "integer" && b.type !== "string" && b.type !== "number")) {
      throw new StructuralSchemaError(path, "x-kubernetes-int-or-string branches must be integer or string");
    }
    if (b.type === "string" && b.pattern !== undefined) pattern = b.pattern;
  }
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "anyOf" || k === "oneOf" || k === "type") continue;
    out[k] = v;
  }
  // The exact form controller-gen emits and the API server's structural check special-cases.
  out.anyOf = [{ type: "integer" }, { type: "string" }];
  out["x-kubernetes-int-or-string"] = true;
  if (pattern !== undefined && out.pattern === undefined) out.pattern = pattern;
  return out;
}

/**
 * Recursively rewrite `node` into a structural schema. Throws StructuralSchemaError naming the JSON
 * path of the first construct that a CRD cannot carry.
 */
export function toStructural(input: unknown, path = "<root>", insideEmbedded = false): JsonSchema {
  if (!isObject(input)) throw new StructuralSchemaError(path, `schema node must be an object, got ${JSON.stringify(input)}`);
  for (const key of FORBIDDEN) {
    if (key in input) throw new StructuralSchemaError(path, `"${key}" cannot be expressed in a CRD schema`);
  }
  if (input.uniqueItems === true) throw new StructuralSchemaError(path, "uniqueItems: true is forbidden in CRD schemas");
  if (input.additionalProperties === false) {
    throw new StructuralSchemaError(path, "additionalProperties: false is forbidden in CRD schemas (use z.object, not z.strictObject)");
  }

  const node: JsonSchema = {};
  for (const [k, v] of Object.entries(input)) if (!STRIPPED.has(k)) node[k] = v;
  const embedded = insideEmbedded || node[EMBEDDED_TYPE_MARKER] === true;
  // The marked node keeps its own description (written by us); only what is under it is dropped.
  if (insideEmbedded) delete node.description;
  delete node[EMBEDDED_TYPE_MARKER];

  if (node["x-kubernetes-int-or-string"] === true) return intOrString(node, path);
  if ("anyOf" in node || "oneOf" in node || "allOf" in node) {
    throw new StructuralSchemaError(
      path,
      "unions (anyOf/oneOf/allOf) are not structural; only int-or-string unions are supported (mark them with x-kubernetes-int-or-string)",
    );
  }

  for (const k of ["minimum", "maximum"]) {
    if (typeof node[k] === "number" && SAFE_INTEGER_BOUNDS.has(node[k])) delete node[k];
  }
  // zod adds a pattern to ISO date-times that only admits "Z"; the API server checks the format itself.
  if (node.format === "date-time") delete node.pattern;

  // Loose objects (z.looseObject, z.record of unknown) come out as additionalProperties: {}.
  if (isObject(node.additionalProperties) && Object.keys(node.additionalProperties).length === 0) {
    delete node.additionalProperties;
    node["x-kubernetes-preserve-unknown-fields"] = true;
    node.type ??= "object";
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    throw new StructuralSchemaError(path, "properties and additionalProperties are mutually exclusive in CRD schemas");
  }

  if (isObject(node.properties) && Object.keys(node.properties).length === 0) delete node.properties;
  if (isObject(node.properties)) {
    const props: JsonSchema = {};
    for (const [k, v] of Object.entries(node.properties)) props[k] = toStructural(v, `${path}.${k}`, embedded);
    node.properties = props;
    node.type ??= "object";
  }
  if (node.additionalProperties !== undefined) {
    node.additionalProperties = toStructural(node.additionalProperties, `${path}{*}`, embedded);
  }
  if (node.items !== undefined) {
    if (!isObject(node.items)) throw new StructuralSchemaError(path, "tuple-style items are not supported");
    node.items = toStructural(node.items, `${path}[*]`, embedded);
  }
  if (node.type === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true) {
    throw new StructuralSchemaError(path, "every schema node needs a type (a structural schema requirement)");
  }
  if (Array.isArray(node.type)) throw new StructuralSchemaError(path, "type must be a single string");
  return node;
}

/** zod -> OpenAPI v3 (the settings the CRD needs) -> structural schema. */
export function crdSchema(schema: z.ZodType, path = "<root>"): JsonSchema {
  const raw = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    unrepresentable: "throw",
    cycles: "throw",
    reused: "inline",
  });
  return toStructural(raw, path);
}
