import { spawnSync } from "node:child_process";
import { CLUSTER_SCRIPT, TEST_NAMESPACE_LABEL } from "./cluster.js";

/** The local cluster's egress guard (scripts/cluster.sh): pod packets bound off the machine are dropped and counted here. */
const OFFMACHINE_CHAIN = "AGSB-OFFMACHINE";

/** Packets the egress guard has dropped so far, or undefined when the guard is not installed. */
function offMachineDrops(): number | undefined {
  const r = spawnSync("iptables", ["-w", "5", "-t", "mangle", "-L", OFFMACHINE_CHAIN, "-v", "-x", "-n"], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  // "pkts bytes target ..." rows; the DROP rule counts every packet that tried.
  const drop = r.stdout.split("\n").find((l) => /\bDROP\b/.test(l));
  return drop ? Number(drop.trim().split(/\s+/)[0]) : undefined;
}

/** The guard's kernel log lines (rate-limited): which pod tried which address. */
function offMachineLog(): string {
  const r = spawnSync("dmesg", [], { encoding: "utf8" });
  return (r.stdout ?? "")
    .split("\n")
    .filter((l) => l.includes("agsb-offmachine:"))
    .slice(-20)
    .join("\n");
}

/**
 * Deletes the namespaces an earlier, interrupted run of this tier left behind, and waits until
 * they are gone: their sandboxes' CPU requests would otherwise leave later pods Pending with
 * "Insufficient cpu" on the one node.
 */
function deleteLeftoverNamespaces(): void {
  const env = spawnSync("bash", [CLUSTER_SCRIPT, "env"], { encoding: "utf8" });
  const vars = new Map(env.stdout.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  const kubectl = vars.get("KUBECTL");
  const kubeconfig = vars.get("KUBECONFIG");
  if (env.status !== 0 || !kubectl || !kubeconfig) throw new Error(`scripts/cluster.sh env failed (exit ${env.status}): ${env.stderr}`);
  const selector = `${TEST_NAMESPACE_LABEL}=e2e`;
  const r = spawnSync(kubectl, ["--kubeconfig", kubeconfig, "delete", "namespace", "-l", selector, "--wait=true", "--timeout=300s"], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`deleting the namespaces an earlier run left (${selector}) failed (exit ${r.status}): ${r.stderr}`);
  const removed = r.stdout.trim();
  if (removed && !/^No resources found/.test(removed)) console.log(`[e2e] removed what an earlier run left behind:\n${removed}`);
}

/**
 * Brings the local cluster up unless it already is. `up` is idempotent, so running it when
 * only a component is down repairs the cluster. The operator/runtime images and the Helm
 * install are part of `up`; when they fail (the project does not build yet) the
 * cluster-level tests can still run, so only the core components decide.
 *
 * The tier must not send anything off this machine: the teardown reads the egress guard's
 * counter and fails the run if any pod packet tried to leave while the tests ran.
 */
export default function setup(): () => void {
  if (process.getuid?.() !== 0) throw new Error("the e2e tier needs root: it runs a real kubelet, containerd and iptables");
  const status = spawnSync("bash", [CLUSTER_SCRIPT, "status"], { encoding: "utf8" });
  if (status.status !== 0) {
    const up = spawnSync("bash", [CLUSTER_SCRIPT, "up"], { stdio: ["ignore", "inherit", "inherit"] });
    const after = spawnSync("bash", [CLUSTER_SCRIPT, "status"], { encoding: "utf8" });
    if (after.status !== 0) {
      throw new Error(`scripts/cluster.sh up failed (exit ${up.status}); status:\n${after.stdout}${after.stderr}`);
    }
    if (up.status !== 0)
      console.warn(`[e2e] cluster core is up, but 'cluster.sh up' exited ${up.status} (images or Helm); see its output above`);
  }
  deleteLeftoverNamespaces();
  const before = offMachineDrops();
  if (before === undefined)
    throw new Error(`the local cluster's egress guard (iptables -t mangle ${OFFMACHINE_CHAIN}) is missing: run scripts/cluster.sh up`);
  return () => {
    const after = offMachineDrops();
    const tried = after === undefined ? undefined : after - before;
    if (tried === 0) {
      console.log(`[e2e] egress guard: 0 packets from pods tried to leave this machine during the tier`);
      return;
    }
    console.error(
      `[e2e] FAILED: ${tried === undefined ? "the egress guard disappeared during the tier" : `${tried} packet(s) from pods tried to leave this machine during the tier`}\n${offMachineLog()}`,
    );
    // A global teardown cannot fail a test; the exit code carries it.
    process.exitCode = 1;
  };
}
