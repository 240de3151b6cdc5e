import { spawnSync } from "node:child_process";
import { CLUSTER_SCRIPT } from "./cluster.js";

/**
 * Brings the local cluster up unless it already is. `up` is idempotent, so running it when
 * only a component is down repairs the cluster. The operator/runtime images and the Helm
 * install are part of `up`; when they fail (the project does not build yet) the
 * cluster-level tests can still run, so only the core components decide.
 */
export default function setup(): void {
  if (process.getuid?.() !== 0) throw new Error("the e2e tier needs root: it runs a real kubelet, containerd and iptables");
  const status = spawnSync("bash", [CLUSTER_SCRIPT, "status"], { encoding: "utf8" });
  if (status.status === 0) return;
  const up = spawnSync("bash", [CLUSTER_SCRIPT, "up"], { stdio: ["ignore", "inherit", "inherit"] });
  const after = spawnSync("bash", [CLUSTER_SCRIPT, "status"], { encoding: "utf8" });
  if (after.status !== 0) {
    throw new Error(`scripts/cluster.sh up failed (exit ${up.status}); status:\n${after.stdout}${after.stderr}`);
  }
  if (up.status !== 0) console.warn(`[e2e] cluster core is up, but 'cluster.sh up' exited ${up.status} (images or Helm); see its output above`);
}
