// Loads upstream agent-sandbox's CRDs from its Go module in the Go module cache (fetched by
// scripts/setup.sh through scripts/lib/upstream-module.sh). Never reaches the network: a machine
// that has not run setup gets an error that says so.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { CrdLike } from "./crd-superset.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const SCRIPT = join(REPO, "scripts/lib/upstream-module.sh");

/** The upstream version the project tracks, as scripts/lib/upstream-module.sh states it. */
export const UPSTREAM_VERSION = execFileSync("bash", [SCRIPT, "version"], { encoding: "utf8" }).trim();

/** The module's directory; throws an Error telling the reader to run setup when it is missing. */
function moduleDir(): string {
  try {
    return execFileSync("bash", [SCRIPT, "dir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // The script has already said why on stderr; the test names the fix.
    throw new Error(
      `upstream agent-sandbox ${UPSTREAM_VERSION} (sigs.k8s.io/agent-sandbox) is not in the Go module cache; ` +
        "run `bash scripts/setup.sh` (or just `bash scripts/lib/upstream-module.sh download`) first",
    );
  }
}

/** Upstream's CRDs (k8s/crds/*.yaml of the module), keyed by kind. */
export function loadUpstreamCrds(): Map<string, CrdLike> {
  const dir = join(moduleDir(), "k8s/crds");
  const crds = new Map<string, CrdLike>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      const crd = doc.toJS() as (CrdLike & { kind?: string }) | null;
      if (crd?.kind === "CustomResourceDefinition") crds.set(crd.spec.names.kind, crd);
    }
  }
  return crds;
}
