// Compares two CustomResourceDefinitions and lists every way the second ("ours") could reject,
// prune or reinterpret a manifest the first ("upstream") accepts. Pure: plain JSON in, a list of
// differences out, so the test that uses it can print them all at once with their paths.
import { isDeepStrictEqual } from "node:util";

/** One schema node of an openAPIV3Schema, as parsed from YAML or built by scripts/lib/crds.ts. */
export type SchemaNode = { [key: string]: unknown };

/**
 * One difference. `id` is `<Kind> <path> <check>`, stable across runs, which is what an allowlist
 * entry names; `detail` says what each side has.
 */
export interface Difference {
  id: string;
  detail: string;
}

function isNode(v: unknown): v is SchemaNode {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function show(v: unknown): string {
  return v === undefined ? "(none)" : JSON.stringify(v);
}

/** Bounds where a larger value in ours admits more. */
const UPPER_BOUNDS = ["maxLength", "maxItems", "maxProperties", "maximum"] as const;
/** Bounds where a smaller value in ours admits more. */
const LOWER_BOUNDS = ["minLength", "minItems", "minProperties", "minimum"] as const;
/** Keywords that must be absent in ours or equal to upstream's (no ordering to compare by). */
const EXACT_OR_ABSENT = ["pattern", "format", "multipleOf"] as const;
/** Extension keywords whose meaning must match exactly; absent means false. */
const FLAGS = [
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "nullable",
  "exclusiveMinimum",
  "exclusiveMaximum",
] as const;

/** What the API server assumes when a list or map does not say (apiextensions defaults). */
function listType(node: SchemaNode): unknown {
  return node["x-kubernetes-list-type"] ?? (node.type === "array" ? "atomic" : undefined);
}
function mapType(node: SchemaNode): unknown {
  return node["x-kubernetes-map-type"] ?? (node.type === "object" ? "granular" : undefined);
}

function celRules(node: SchemaNode): string[] {
  const rules = node["x-kubernetes-validations"];
  return Array.isArray(rules) ? rules.filter(isNode).map((r) => String(r.rule)) : [];
}

/**
 * Walk `upstream` and report, under `prefix` (`<Kind> `), every path where `ours` is missing,
 * typed differently, stricter, or defaulted differently. Fields only ours has are reported as
 * `extra` so that additions are visible too.
 */
export function compareSchemas(upstream: SchemaNode, ours: SchemaNode, prefix: string, path = ""): Difference[] {
  const out: Difference[] = [];
  const at = path || ".";
  const diff = (check: string, detail: string): void => {
    out.push({ id: `${prefix}${at} ${check}`, detail });
  };

  if (upstream.type !== ours.type) diff("type", `upstream ${show(upstream.type)}, ours ${show(ours.type)}`);
  for (const flag of FLAGS) {
    if ((upstream[flag] ?? false) !== (ours[flag] ?? false)) {
      diff(flag, `upstream ${show(upstream[flag])}, ours ${show(ours[flag])}`);
    }
  }
  if (listType(upstream) !== listType(ours)) {
    diff("x-kubernetes-list-type", `upstream ${show(listType(upstream))}, ours ${show(listType(ours))}`);
  }
  if (!isDeepStrictEqual(upstream["x-kubernetes-list-map-keys"], ours["x-kubernetes-list-map-keys"])) {
    diff(
      "x-kubernetes-list-map-keys",
      `upstream ${show(upstream["x-kubernetes-list-map-keys"])}, ours ${show(ours["x-kubernetes-list-map-keys"])}`,
    );
  }
  if (mapType(upstream) !== mapType(ours)) {
    diff("x-kubernetes-map-type", `upstream ${show(mapType(upstream))}, ours ${show(mapType(ours))}`);
  }

  if (Array.isArray(ours.enum)) {
    const accepted = new Set(ours.enum);
    const lost = Array.isArray(upstream.enum) ? upstream.enum.filter((v) => !accepted.has(v)) : undefined;
    if (lost === undefined) diff("enum", `upstream has no enum, ours ${show(ours.enum)}`);
    else if (lost.length > 0) diff("enum", `ours rejects ${show(lost)} (upstream ${show(upstream.enum)})`);
  }

  const upstreamRequired = new Set(strings(upstream.required));
  const extraRequired = strings(ours.required).filter((r) => !upstreamRequired.has(r));
  if (extraRequired.length > 0) diff("required", `ours also requires ${show(extraRequired)}`);

  for (const k of UPPER_BOUNDS) {
    const u = upstream[k];
    const o = ours[k];
    if (typeof o === "number" && (typeof u !== "number" || o < u)) diff(k, `upstream ${show(u)}, ours ${o}`);
  }
  for (const k of LOWER_BOUNDS) {
    const u = upstream[k];
    const o = ours[k];
    if (typeof o === "number" && (typeof u !== "number" || o > u)) diff(k, `upstream ${show(u)}, ours ${o}`);
  }
  for (const k of EXACT_OR_ABSENT) {
    if (ours[k] !== undefined && ours[k] !== upstream[k]) diff(k, `upstream ${show(upstream[k])}, ours ${show(ours[k])}`);
  }
  if (!isDeepStrictEqual(upstream.default, ours.default)) {
    diff("default", `upstream ${show(upstream.default)}, ours ${show(ours.default)}`);
  }
  // CEL rules are compared as text: a rule only ours has may reject what upstream accepts, and a
  // rule only upstream has (an immutability rule, say) would be lost meaning.
  const upstreamRules = celRules(upstream);
  const ourRules = celRules(ours);
  const added = ourRules.filter((r) => !upstreamRules.includes(r));
  const lost = upstreamRules.filter((r) => !ourRules.includes(r));
  if (added.length > 0) diff("x-kubernetes-validations", `rules only ours has: ${show(added)}`);
  if (lost.length > 0) diff("x-kubernetes-validations lost", `upstream's rules ours lacks: ${show(lost)}`);

  const upstreamProps = isNode(upstream.properties) ? upstream.properties : {};
  const ourProps = isNode(ours.properties) ? ours.properties : {};
  for (const [name, u] of Object.entries(upstreamProps)) {
    const o = ourProps[name];
    const child = `${path}.${name}`;
    if (!isNode(u)) continue;
    if (!isNode(o)) out.push({ id: `${prefix}${child} missing`, detail: `upstream ${show(u.type)} field absent from ours` });
    else out.push(...compareSchemas(u, o, prefix, child));
  }
  for (const name of Object.keys(ourProps)) {
    if (!(name in upstreamProps)) out.push({ id: `${prefix}${path}.${name} extra`, detail: "a field only ours has" });
  }
  if (isNode(upstream.additionalProperties) || isNode(ours.additionalProperties)) {
    const u = isNode(upstream.additionalProperties) ? upstream.additionalProperties : undefined;
    const o = isNode(ours.additionalProperties) ? ours.additionalProperties : undefined;
    if (u && o) out.push(...compareSchemas(u, o, prefix, `${path}{*}`));
    else diff("additionalProperties", `upstream ${show(u?.type)}, ours ${show(o?.type)}`);
  }
  if (isNode(upstream.items) && isNode(ours.items)) out.push(...compareSchemas(upstream.items, ours.items, prefix, `${path}[*]`));
  else if (isNode(upstream.items) || isNode(ours.items)) diff("items", "only one side declares items");
  return out;
}

/** The parts of a CRD this comparison reads (a CRD parsed from YAML or built by scripts/lib/crds.ts). */
export interface CrdLike {
  spec: {
    group: string;
    names: { kind: string } & { [key: string]: unknown };
    scope: string;
    versions: ReadonlyArray<{
      name: string;
      served: boolean;
      storage: boolean;
      schema?: { openAPIV3Schema: object };
      subresources?: object;
      additionalPrinterColumns?: readonly object[];
    }>;
  };
}

const NAME_FIELDS = ["kind", "listKind", "plural", "singular", "shortNames", "categories"] as const;

/** Printer columns as the API server treats them; descriptions only show in `kubectl explain`-like tools. */
function columns(cols: readonly object[] | undefined): unknown[] {
  return (cols ?? []).filter(isNode).map((c) => ({
    name: c.name,
    type: c.type,
    jsonPath: c.jsonPath,
    format: c.format,
    priority: c.priority ?? 0,
  }));
}

/**
 * Every difference between two CRDs of the same kind: the CRD-level facts (group, names, scope,
 * served versions, subresources, printer columns), then each served version's schema.
 */
export function compareCrds(upstream: CrdLike, ours: CrdLike): Difference[] {
  const kind = upstream.spec.names.kind;
  const out: Difference[] = [];
  const diff = (check: string, u: unknown, o: unknown): void => {
    if (!isDeepStrictEqual(u, o)) out.push({ id: `${kind} crd ${check}`, detail: `upstream ${show(u)}, ours ${show(o)}` });
  };
  diff("group", upstream.spec.group, ours.spec.group);
  diff("scope", upstream.spec.scope, ours.spec.scope);
  for (const f of NAME_FIELDS) diff(`names.${f}`, upstream.spec.names[f], ours.spec.names[f]);
  const served = (crd: CrdLike): string[] => crd.spec.versions.filter((v) => v.served).map((v) => v.name);
  diff("served versions", served(upstream), served(ours));

  for (const u of upstream.spec.versions.filter((v) => v.served)) {
    const o = ours.spec.versions.find((v) => v.name === u.name && v.served);
    if (!o) continue;
    diff(`${u.name} storage`, u.storage, o.storage);
    diff(`${u.name} subresources`, u.subresources ?? {}, o.subresources ?? {});
    diff(`${u.name} additionalPrinterColumns`, columns(u.additionalPrinterColumns), columns(o.additionalPrinterColumns));
    const us = u.schema?.openAPIV3Schema;
    const os = o.schema?.openAPIV3Schema;
    if (isNode(us) && isNode(os)) out.push(...compareSchemas(us, os, `${kind} ${u.name} `));
    else if (us || os) out.push({ id: `${kind} ${u.name} schema`, detail: "only one side has an openAPIV3Schema" });
  }
  return out;
}
