// Writes crds/<group>_<plural>.yaml for the four agent-sandbox kinds from the zod schemas.
// Usage: npm run gen:crds
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCrds, crdFileName } from "./lib/crds.js";
import { renderCrd } from "./lib/crd-yaml.js";

export { buildCrds, crdFileName } from "./lib/crds.js";
export { renderCrd } from "./lib/crd-yaml.js";

const here = dirname(fileURLToPath(import.meta.url));
export const CRD_DIR = resolve(here, "../crds");

/** The files gen:crds writes, keyed by file name. */
export function renderCrdFiles(): Map<string, string> {
  return new Map(buildCrds().map((crd) => [crdFileName(crd), renderCrd(crd)]));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(CRD_DIR, { recursive: true });
  const files = renderCrdFiles();
  // Remove CRD files for kinds that no longer exist so crds/ always mirrors the schemas.
  for (const existing of readdirSync(CRD_DIR)) {
    if (existing.endsWith(".yaml") && !files.has(existing)) unlinkSync(join(CRD_DIR, existing));
  }
  for (const [name, text] of files) {
    writeFileSync(join(CRD_DIR, name), text);
    process.stdout.write(`wrote crds/${name} (${text.length} bytes)\n`);
  }
}
