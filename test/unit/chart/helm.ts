// Runs the helm binary that scripts/lib/build-cluster-tools.sh builds (or $HELM) on the chart.
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CHART = join(REPO, "charts/agent-sandbox");
/** helm template assumes v1.20 without a cluster; the chart needs >= 1.29. */
export const KUBE_VERSION = "1.32.0";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of helm, or undefined (with the reason) when it has not been built on this machine. */
export function findHelm(): { path: string } | { missing: string } {
  const fromEnv = process.env["HELM"];
  if (fromEnv) return executable(fromEnv) ? { path: fromEnv } : { missing: `$HELM=${fromEnv} is not executable` };
  const paths = execFileSync("bash", [join(REPO, "scripts/lib/build-cluster-tools.sh"), "paths"], { encoding: "utf8" });
  const bin = /^HELM_BIN=(.*)$/m.exec(paths)?.[1];
  if (!bin) return { missing: "build-cluster-tools.sh paths printed no HELM_BIN" };
  const path = join(bin, "helm");
  return executable(path) ? { path } : { missing: `helm is not built (${path}); run: bash scripts/lib/build-cluster-tools.sh helm` };
}

export function helm(helmPath: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(helmPath, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, HELM_CACHE_HOME: "/tmp/helm-cache", HELM_CONFIG_HOME: "/tmp/helm-config", HELM_DATA_HOME: "/tmp/helm-data" },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  set?: Record<string, string | number | boolean>;
  includeCrds?: boolean;
  showOnly?: string[];
}

/** `helm template` of the chart, parsed into objects. Throws with helm's stderr on failure. */
export function renderChart(helmPath: string, opts: RenderOptions = {}): K8sObject[] {
  const args = [
    "template",
    opts.release ?? "agent-sandbox",
    CHART,
    "--namespace",
    opts.namespace ?? "agent-sandbox-system",
    "--kube-version",
    KUBE_VERSION,
  ];
  if (opts.includeCrds) args.push("--include-crds");
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push("--set", `${k}=${String(v)}`);
  for (const t of opts.showOnly ?? []) args.push("--show-only", t);
  const r = helm(helmPath, args);
  if (r.status !== 0) throw new Error(`helm ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`invalid YAML from helm: ${doc.errors[0]?.message ?? ""}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj) out.push(obj);
  }
  return out;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o)
    throw new Error(`no ${kind} ${name} in the rendered chart; have: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o;
}
