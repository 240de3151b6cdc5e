// What the tiers that run others' e2e binaries (upstream's, and Kubernetes' NetworkPolicy tests)
// need from the local cluster: the cluster up with the operator installed (scripts/cluster.sh
// up, as the e2e tier does), the images those tests name imported into its containerd, and the
// egress guard's counter.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { CLUSTER_SCRIPT, REPO_ROOT } from "../e2e/harness/cluster.js";

const BUILD_IMAGES = resolve(REPO_ROOT, "scripts/lib/build-images.sh");
/** Images built by scripts/lib/build-images.sh under the references upstream's tests use. */
export const UPSTREAM_TEST_IMAGES = ["upstream_pause", "busybox"] as const;
/** The local cluster's egress guard (scripts/cluster.sh): pod packets bound off the machine are dropped and counted here. */
const OFFMACHINE_CHAIN = "AGSB-OFFMACHINE";

/** The `KEY=value` lines a script prints for `command` (`paths`, `env`); throws when it fails. */
export function scriptVars(script: string, command: string): Map<string, string> {
  const r = spawnSync("bash", [script, command], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${script} ${command} failed (exit ${r.status}): ${r.stderr}`);
  const vars = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) vars.set(line.slice(0, i), line.slice(i + 1));
  }
  return vars;
}

/** `KEY=value` lines of `scripts/cluster.sh env`. */
export function clusterVars(): Map<string, string> {
  return scriptVars(CLUSTER_SCRIPT, "env");
}

/** Brings the cluster up unless `status` says it is; throws when it stays down. */
export function ensureClusterUp(log: (msg: string) => void): void {
  if (spawnSync("bash", [CLUSTER_SCRIPT, "status"], { encoding: "utf8" }).status === 0) return;
  log("the local cluster is not up: running scripts/cluster.sh up");
  const up = spawnSync("bash", [CLUSTER_SCRIPT, "up"], { stdio: ["ignore", "inherit", "inherit"] });
  const after = spawnSync("bash", [CLUSTER_SCRIPT, "status"], { encoding: "utf8" });
  if (after.status !== 0 || up.status !== 0) {
    throw new Error(`scripts/cluster.sh up failed (exit ${up.status}); status:\n${after.stdout}${after.stderr}`);
  }
}

/** Builds (cached) and imports images by their scripts/lib/build-images.sh names. */
export function importTestImages(containerdSocket: string, names: readonly string[]): void {
  const r = spawnSync("bash", [BUILD_IMAGES, "import", containerdSocket, ...names], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.status !== 0) throw new Error(`importing ${names.join(", ")} failed (scripts/lib/build-images.sh exit ${r.status})`);
}

/** Packets the egress guard has dropped so far, or undefined when the guard is not installed. */
export function offMachineDrops(): number | undefined {
  const r = spawnSync("iptables", ["-w", "5", "-t", "mangle", "-L", OFFMACHINE_CHAIN, "-v", "-x", "-n"], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  // "pkts bytes target ..." rows; the DROP rule counts every packet that tried.
  const drop = r.stdout.split("\n").find((l) => /\bDROP\b/.test(l));
  return drop ? Number(drop.trim().split(/\s+/)[0]) : undefined;
}

/** The guard's kernel log lines (rate-limited): which pod tried which address. */
export function offMachineLog(): string {
  const r = spawnSync("dmesg", [], { encoding: "utf8" });
  return (r.stdout ?? "")
    .split("\n")
    .filter((l) => l.includes("agsb-offmachine:"))
    .slice(-20)
    .join("\n");
}

/**
 * What the egress guard says about a run, from its counts before and after: undefined when no
 * packet tried to leave, otherwise the failure, with the guard's recent log lines.
 */
export function egressFailure(dropsBefore: number, dropsAfter: number | undefined): string | undefined {
  if (dropsAfter === dropsBefore) return undefined;
  const what =
    dropsAfter === undefined
      ? "the egress guard disappeared"
      : `${dropsAfter - dropsBefore} packet(s) from pods tried to leave this machine`;
  return `${what}\n${offMachineLog()}`;
}
