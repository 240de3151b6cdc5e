// The modules under src/ and which of them each may import: the SDK never reaches into the
// router, the router never into the execution server, the controllers never into the router.
// What two of them share lives in src/shared (or src/api, src/runtime) and both import it.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../../src");

/** Each top-level module under src/ and the other modules it may import. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  api: [],
  runtime: [],
  config: [],
  "execd-token": [],
  shared: ["api", "runtime"],
  client: ["api", "runtime", "shared"],
  cli: ["api", "client", "mcp", "shared"],
  mcp: ["client", "shared", "tools"],
  tools: ["client"],
  adapters: ["client", "tools"],
  console: ["client", "shared"],
  execd: ["execd-token", "shared"],
  router: ["api", "execd-token", "runtime", "shared"],
  controllers: ["api", "config", "execd-token", "runtime", "shared"],
  operator: ["api", "config", "controllers", "execd-token", "runtime", "shared"],
  "(package entry)": ["api", "client", "shared"],
};

/** Relative import specifiers of a source text: static imports, re-exports and dynamic imports. */
function relativeImports(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) found.push(m[1]!);
  return found;
}

function moduleOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : "(package entry)";
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

interface Edge {
  file: string;
  from: string;
  to: string;
}

function crossModuleImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = moduleOf(file);
    for (const spec of relativeImports(readFileSync(file, "utf8"))) {
      const to = moduleOf(resolve(dirname(file), spec));
      if (to !== from) edges.push({ file: relative(SRC, file), from, to });
    }
  }
  return edges;
}

describe("import rules between the modules under src/", () => {
  const edges = crossModuleImports();

  it("knows every module", () => {
    const modules = new Set(sourceFiles(SRC).map(moduleOf));
    expect([...modules].filter((m) => !(m in ALLOWED))).toEqual([]);
  });

  it("lets each module import only the modules it is allowed to", () => {
    const broken = edges.filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to)).map((e) => `${e.file} imports ${e.to}`);
    expect(broken).toEqual([]);
  });

  it("names the three rules the layout exists for", () => {
    expect(ALLOWED["client"]).not.toContain("router");
    expect(ALLOWED["router"]).not.toContain("execd");
    expect(ALLOWED["controllers"]).not.toContain("router");
  });

  it("sees imports that break a rule (the scan itself works)", () => {
    expect(relativeImports(`import { x } from "../router/config.js";\nexport * from "./a.js";\nawait import("./run.js");`)).toEqual([
      "../router/config.js",
      "./a.js",
      "./run.js",
    ]);
    expect(edges.length).toBeGreaterThan(50);
    expect(edges).toContainEqual(expect.objectContaining({ from: "client", to: "shared" }));
  });
});
