// Generates src/api/generated/core-v1.ts: zod schemas (and matching TypeScript interfaces) for
// core/v1 PodSpec, PersistentVolumeClaimSpec and networking/v1 NetworkPolicy{Ingress,Egress}Rule,
// with everything they reference, from the OpenAPI v3 documents that ship inside the
// k8s.io/kubernetes Go module. Upstream agent-sandbox embeds the full corev1 PodSpec in its CRDs
// (controller-gen does the same walk over the Go types); we walk the published OpenAPI instead so
// the zod schema is the single source for both our TypeScript types and the CRD.
//
// Usage: npm run gen:core-schemas   (offline when the module is already in the Go module cache;
// otherwise `go mod download` fetches it from the Go module proxy once).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const KUBERNETES_VERSION = "v1.32.13";
const MODULE = "k8s.io/kubernetes";
const SPEC_DIR = "api/openapi-spec/v3";
const DOCUMENTS = ["api__v1_openapi.json", "apis__networking.k8s.io__v1_openapi.json"];
const ROOTS = [
  "io.k8s.api.core.v1.PodSpec",
  "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
  "io.k8s.api.networking.v1.NetworkPolicyIngressRule",
  "io.k8s.api.networking.v1.NetworkPolicyEgressRule",
];

/** Definitions that map to hand-written helpers in src/api/core-primitives.ts. */
const SPECIAL: Record<string, { zod: string; out: string; in: string }> = {
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { zod: "quantity()", out: "string", in: "string | number" },
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
    zod: "intOrString()",
    out: "number | string",
    in: "number | string",
  },
  // Only reachable through ephemeral volumes' volumeClaimTemplate.metadata. controller-gen renders it
  // as a bare `type: object` (so every field is pruned); we keep the two fields pod validation
  // allows there, labels and annotations.
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
    zod: "ClaimTemplateMetaSchema",
    out: "ClaimTemplateMeta",
    in: "ClaimTemplateMeta",
  },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface OpenApiSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema;
  items?: OpenApiSchema;
  required?: string[];
  default?: Json;
  $ref?: string;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  enum?: Json[];
  [ext: `x-${string}`]: Json | undefined;
}

/** Extensions that are meaningful in a CRD schema; patch-strategy/unions only matter to built-ins. */
const KEPT_EXTENSIONS = [
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
] as const;

/**
 * Structs whose CRD schema must be `x-kubernetes-map-type: atomic` although Kubernetes' OpenAPI
 * leaves them granular. Each embeds LocalObjectReference (`+structType=atomic`) inline, and
 * controller-gen carries that marker up to the embedding struct, so upstream agent-sandbox's CRDs
 * replace these objects whole under server-side apply; ours must merge them the same way.
 */
const ATOMIC_STRUCTS = new Set([
  "io.k8s.api.core.v1.ConfigMapEnvSource",
  "io.k8s.api.core.v1.SecretEnvSource",
  "io.k8s.api.core.v1.ConfigMapVolumeSource",
  "io.k8s.api.core.v1.ConfigMapProjection",
  "io.k8s.api.core.v1.SecretProjection",
]);

/**
 * Defaults that upstream's CRDs do not carry: Kubernetes declares them as `+default=ref(<Go
 * constant>)`, which controller-gen does not evaluate. Left out so a stored Sandbox keeps exactly
 * what the user wrote; the Pod API server still applies them when the operator creates the Pod.
 */
const DROPPED_DEFAULTS = new Set(["io.k8s.api.core.v1.AzureDiskVolumeSource.cachingMode", "io.k8s.api.core.v1.AzureDiskVolumeSource.kind"]);

function goModCache(env: NodeJS.ProcessEnv): string {
  try {
    return execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8", env }).trim();
  } catch {
    // No Go toolchain on PATH: use Go's default location, which is all we need when it is cached.
    return env.GOMODCACHE ?? join(env.GOPATH ?? join(homedir(), "go"), "pkg", "mod");
  }
}

export function findSpecDir(version = KUBERNETES_VERSION): string {
  const env = { ...process.env, GOFLAGS: "-mod=mod" };
  const cached = join(goModCache(env), `${MODULE}@${version}`, SPEC_DIR);
  if (existsSync(join(cached, DOCUMENTS[0]!))) return cached;
  // Not cached yet: fetch the module zip once (run outside any go.mod so it is a plain download).
  let out: string;
  try {
    out = execFileSync("go", ["mod", "download", "-json", `${MODULE}@${version}`], { encoding: "utf8", cwd: tmpdir(), env });
  } catch (err) {
    throw new Error(`${MODULE}@${version} is not in the Go module cache (${cached}) and \`go mod download\` failed: ${String(err)}`, {
      cause: err,
    });
  }
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${MODULE}@${version} failed: ${info.Error ?? out}`);
  return join(info.Dir, SPEC_DIR);
}

function loadSchemas(specDir: string): Map<string, OpenApiSchema> {
  const all = new Map<string, OpenApiSchema>();
  for (const file of DOCUMENTS) {
    const doc = JSON.parse(readFileSync(join(specDir, file), "utf8")) as {
      components: { schemas: Record<string, OpenApiSchema> };
    };
    for (const [name, schema] of Object.entries(doc.components.schemas)) all.set(name, schema);
  }
  return all;
}

/** `#/components/schemas/X` directly or wrapped in a single-element allOf (how v3 docs attach defaults). */
function refOf(s: OpenApiSchema): string | undefined {
  const raw = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0]!.$ref : undefined);
  return raw?.replace("#/components/schemas/", "");
}

/** io.k8s.api.core.v1.Container -> CoreV1Container; meta.v1 -> MetaV1...; networking.v1 -> NetworkingV1... */
export function tsName(def: string): string {
  const m = /^io\.k8s\.(?:api|apimachinery\.pkg\.apis)\.([a-z.]+?)\.(v[0-9a-z]+)\.([A-Za-z0-9]+)$/.exec(def);
  if (!m) throw new Error(`unexpected definition name ${def}`);
  const group = m[1]!.split(".")[0]!;
  return group.charAt(0).toUpperCase() + group.slice(1) + m[2]!.toUpperCase() + m[3]!;
}

/** Dependencies first, so every `const XSchema` is initialised before it is used. */
function closure(schemas: Map<string, OpenApiSchema>): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (def: string, path: string[]): void => {
    if (SPECIAL[def]) return;
    const st = state.get(def);
    if (st === "done") return;
    if (st === "visiting") throw new Error(`reference cycle: ${[...path, def].join(" -> ")}`);
    state.set(def, "visiting");
    const s = schemas.get(def);
    if (!s) throw new Error(`missing definition ${def}`);
    const walk = (n: OpenApiSchema): void => {
      const r = refOf(n);
      if (r) return visit(r, [...path, def]);
      for (const p of Object.values(n.properties ?? {})) walk(p);
      if (n.items) walk(n.items);
      if (n.additionalProperties) walk(n.additionalProperties);
    };
    walk(s);
    state.set(def, "done");
    order.push(def);
  };
  for (const r of ROOTS) visit(r, []);
  return order;
}

interface Expr {
  zod: string;
  out: string;
  in: string;
}

function extensionsMeta(s: OpenApiSchema): Record<string, Json> {
  const meta: Record<string, Json> = {};
  for (const k of KEPT_EXTENSIONS) if (s[k] !== undefined) meta[k] = s[k]!;
  return meta;
}

function withMeta(zod: string, meta: Record<string, Json>): string {
  return Object.keys(meta).length ? `${zod}.meta(${JSON.stringify(meta)})` : zod;
}

function valueExpr(s: OpenApiSchema, where: string): Expr {
  const ref = refOf(s);
  if (ref) {
    const special = SPECIAL[ref];
    if (special) return special;
    const n = tsName(ref);
    return { zod: `${n}Schema`, out: n, in: `${n}Input` };
  }
  const meta = extensionsMeta(s);
  switch (s.type) {
    case "string":
      if (s.format === "date-time") {
        return { zod: withMeta("z.iso.datetime({ offset: true })", meta), out: "string", in: "string" };
      }
      if (s.format === "byte") return { zod: withMeta("z.base64()", meta), out: "string", in: "string" };
      return { zod: withMeta("z.string()", meta), out: "string", in: "string" };
    case "integer": {
      const fn = s.format === "int32" ? "int32()" : "int64()";
      return { zod: withMeta(fn, meta), out: "number", in: "number" };
    }
    case "number":
      return { zod: withMeta("double()", meta), out: "number", in: "number" };
    case "boolean":
      return { zod: withMeta("z.boolean()", meta), out: "boolean", in: "boolean" };
    case "array": {
      if (!s.items) throw new Error(`${where}: array without items`);
      const item = valueExpr(s.items, `${where}[]`);
      return {
        zod: withMeta(`z.array(${item.zod})`, meta),
        out: `Array<${item.out}>`,
        in: `Array<${item.in}>`,
      };
    }
    case "object": {
      if (s.properties) throw new Error(`${where}: inline object with properties is not supported`);
      if (s.additionalProperties) {
        const v = valueExpr(s.additionalProperties, `${where}{}`);
        return {
          zod: withMeta(`z.record(z.string(), ${v.zod})`, meta),
          out: `{ [key: string]: ${v.out} }`,
          in: `{ [key: string]: ${v.in} }`,
        };
      }
      // An object with no declared shape: keep whatever the user sends.
      return {
        zod: withMeta("z.record(z.string(), z.unknown())", { ...meta, "x-kubernetes-preserve-unknown-fields": true }),
        out: "{ [key: string]: unknown }",
        in: "{ [key: string]: unknown }",
      };
    }
    default:
      throw new Error(`${where}: unsupported schema ${JSON.stringify(s).slice(0, 200)}`);
  }
}

function docComment(text: string | undefined, indent: string): string {
  if (!text) return "";
  const body = text.replace(/\*\//g, "*\\/").split("\n");
  return `${indent}/**\n${body.map((l) => `${indent} * ${l}`.trimEnd()).join("\n")}\n${indent} */\n`;
}

/**
 * Defaults: the v3 documents carry Go zero values (`""`, `0`, `{}`) on many fields in addition to
 * the real `+default` markers. controller-gen only emits the markers; the zero values sit on
 * required fields, array items and map values (or are `{}`), so keeping only defaults of optional
 * scalar properties reproduces exactly the marker defaults (TCP, "", ext4, ...).
 */
function keptDefault(prop: OpenApiSchema, required: boolean): Json | undefined {
  if (required || prop.default === undefined) return undefined;
  if (typeof prop.default === "object" && prop.default !== null) return undefined;
  return prop.default;
}

function emitDefinition(def: string, s: OpenApiSchema): string {
  const name = tsName(def);
  if (s.type !== "object" || !s.properties) throw new Error(`${def}: expected an object with properties`);
  const required = new Set(s.required ?? []);
  const outLines: string[] = [];
  const inLines: string[] = [];
  const zodLines: string[] = [];
  for (const [key, prop] of Object.entries(s.properties).sort(([a], [b]) => a.localeCompare(b))) {
    const isRequired = required.has(key);
    const e = valueExpr(prop, `${def}.${key}`);
    const dflt = DROPPED_DEFAULTS.has(`${def}.${key}`) ? undefined : keptDefault(prop, isRequired);
    const desc = prop.description ?? "";
    let zod = e.zod;
    if (desc) zod += `.describe(${JSON.stringify(desc)})`;
    if (dflt !== undefined) zod += `.default(${JSON.stringify(dflt)})`;
    else if (!isRequired) zod += ".optional()";
    zodLines.push(`  ${key}: ${zod},`);
    const doc = docComment(desc, "  ");
    outLines.push(`${doc}  ${key}${isRequired || dflt !== undefined ? "" : "?"}: ${e.out};`);
    inLines.push(`  ${key}${isRequired ? "" : "?"}: ${e.in};`);
  }
  const typeMeta = extensionsMeta(s);
  if (ATOMIC_STRUCTS.has(def)) typeMeta["x-kubernetes-map-type"] = "atomic";
  let schema = withMeta(`z.object({\n${zodLines.join("\n")}\n})`, typeMeta);
  if (s.description) schema += `.describe(${JSON.stringify(s.description)})`;
  return [
    `${docComment(s.description, "")}export interface ${name} {\n${outLines.join("\n")}\n}`,
    `/** Input (pre-default, pre-normalisation) form of {@link ${name}}. */\nexport interface ${name}Input {\n${inLines.join("\n")}\n}`,
    `export const ${name}Schema: z.ZodType<${name}, ${name}Input> = ${schema};`,
  ].join("\n\n");
}

export function generate(specDir: string): string {
  const schemas = loadSchemas(specDir);
  const order = closure(schemas);
  const header = [
    `// Code generated by scripts/gen-core-schemas.ts from the Kubernetes ${KUBERNETES_VERSION} OpenAPI v3`,
    `// documents (${MODULE}@${KUBERNETES_VERSION}/${SPEC_DIR}/{${DOCUMENTS.join(",")}}). DO NOT EDIT.`,
    "// Regenerate with `npm run gen:core-schemas`.",
    "//",
    "// Every schema is annotated with an explicit interface (z.ZodType<Output, Input>) rather than",
    "// left to inference: the PodSpec closure is ~110 nested object types, and with annotations tsc",
    "// infers each z.object once, one level deep, instead of re-expanding zod's generics wherever a",
    "// Sandbox type is used; hover types stay readable too. tsc checks every annotation against its",
    "// schema, so the two cannot drift. Output types are assignable to @kubernetes/client-node's V1*",
    "// models (quantities normalise to strings on parse), see test/unit/api/schemas.test.ts.",
    "/* eslint-disable */",
    'import { z } from "zod";',
    'import { double, int32, int64, intOrString, quantity } from "../core-primitives.js";',
    'import { ClaimTemplateMetaSchema } from "../object-meta.js";',
    'import type { ClaimTemplateMeta } from "../object-meta.js";',
    "",
  ].join("\n");
  const body = order.map((def) => emitDefinition(def, schemas.get(def)!)).join("\n\n");
  return `${header}\n${body}\n`;
}

const here = dirname(fileURLToPath(import.meta.url));
export const CORE_SCHEMAS_FILE = resolve(here, "../src/api/generated/core-v1.ts");

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = generate(findSpecDir());
  writeFileSync(CORE_SCHEMAS_FILE, text);
  process.stdout.write(`wrote ${CORE_SCHEMAS_FILE} (${text.length} bytes)\n`);
}
