// NetworkPolicy conformance: runs Kubernetes' own NetworkPolicy e2e tests
// (k8s.io/kubernetes/test/e2e/network/netpol, at the cluster's Kubernetes version, built from
// the Go module proxy by scripts/lib/build-netpol-conformance.sh) against the local cluster's
// enforcer, and against kube-router's firewall for comparison. Each run's results go to
// test/netpol-conformance/results/<enforcer>.json; a side-by-side table is printed.
//
//   npm run test:netpol                              both enforcers, ours first
//   npm run test:netpol -- --enforcer kube-router    one enforcer (agent-sandbox | kube-router)
//   npm run test:netpol -- --focus 'default-deny'    only specs whose text matches
//
// Needs root (it switches the cluster's enforcer and imports the agnhost image). About 25 s
// per spec, 20 minutes per enforcer, on a 2-core machine. Exits non-zero when a spec fails, when no spec ran, or
// when a pod tried to send a packet off this machine. The cluster's enforcer is put back as
// it was.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CLUSTER_SCRIPT, REPO_ROOT } from "../e2e/harness/cluster.js";
import {
  clusterVars,
  egressFailure,
  ensureClusterUp,
  importTestImages,
  offMachineDrops,
  scriptVars,
} from "../conformance/cluster-setup.js";
import { auditPackages } from "../conformance/source-audit.js";
import { comparisonTable, countSpecs, parseGinkgoReport, type SpecResult } from "./ginkgo-report.js";
import { deleteLeftoverNamespaces } from "./leftovers.js";

const BUILD_SCRIPT = resolve(REPO_ROOT, "scripts/lib/build-netpol-conformance.sh");
const RESULTS_DIR = resolve(REPO_ROOT, "test/netpol-conformance/results");
const ENFORCERS = ["agent-sandbox", "kube-router"] as const;
type Enforcer = (typeof ENFORCERS)[number];
/**
 * Every spec of the package but those that need SCTP connectivity, which cannot run on this
 * machine: its kernel is built without SCTP (CONFIG_IP_SCTP is not set), so an SCTP socket fails
 * with EPROTONOSUPPORT and agnhost cannot serve one. (The specs that check a policy naming SCTP
 * leaves TCP alone need no SCTP socket, and run.)
 */
const LABEL_FILTER = "!Feature:SCTPConnectivity";

const log = (msg: string): void => console.log(`[netpol-conformance] ${msg}`);

function fail(msg: string): never {
  console.error(`[netpol-conformance] ERROR: ${msg}`);
  process.exit(1);
}

function switchEnforcer(enforcer: string): void {
  const r = spawnSync("bash", [CLUSTER_SCRIPT, "netpol", enforcer], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`scripts/cluster.sh netpol ${enforcer} failed (exit ${r.status})`);
}

function currentEnforcer(): string {
  return spawnSync("bash", [CLUSTER_SCRIPT, "netpol"], { encoding: "utf8" }).stdout.trim();
}

interface EnforcerRun {
  enforcer: Enforcer;
  kubernetesVersion: string;
  startedAt: string;
  minutes: number;
  specs: SpecResult[];
}

/** Runs the test binary once against whatever enforcer is running; resolves with its spec rows. */
function runSuite(
  binary: string,
  enforcer: Enforcer,
  focus: string | undefined,
  env: NodeJS.ProcessEnv,
  workDir: string,
): Promise<SpecResult[]> {
  const report = join(workDir, `${enforcer}.json`);
  const logPath = join(workDir, `${enforcer}.log`);
  const args = [
    "-test.timeout=0",
    `--kubeconfig=${env["KUBECONFIG"]}`,
    `--ginkgo.label-filter=${LABEL_FILTER}`,
    ...(focus ? [`--ginkgo.focus=${focus}`] : []),
    `--ginkgo.json-report=${report}`,
    "--ginkgo.timeout=6h",
    "--ginkgo.no-color",
    `--report-dir=${join(workDir, enforcer)}`,
  ];
  log(`${enforcer}: ${binary} ${args.join(" ")} (output: ${logPath})`);
  const out = createWriteStream(logPath);
  const child = spawn(binary, args, { cwd: workDir, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const stop = (): void => void child.kill("SIGINT");
  process.on("SIGINT", stop).on("SIGTERM", stop);
  return new Promise((done, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      process.off("SIGINT", stop).off("SIGTERM", stop);
      out.end();
      let specs: SpecResult[];
      try {
        specs = parseGinkgoReport(readFileSync(report, "utf8"));
      } catch (e) {
        reject(new Error(`${enforcer}: no usable report (exit ${code ?? signal}): ${String(e)}; see ${logPath}`));
        return;
      }
      done(specs);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { enforcer: { type: "string" }, focus: { type: "string" } } });
  if (process.getuid?.() !== 0)
    fail("needs root: it switches the cluster's NetworkPolicy enforcer and imports an image into its containerd");
  const chosen = values.enforcer === undefined ? [...ENFORCERS] : ENFORCERS.filter((e) => e === values.enforcer);
  if (!chosen.length) fail(`unknown --enforcer ${values.enforcer} (${ENFORCERS.join(" | ")})`);

  const build = spawnSync("bash", [BUILD_SCRIPT, "all"], { stdio: ["ignore", "inherit", "inherit"] });
  if (build.status !== 0) fail("building the NetworkPolicy e2e tests or kube-router failed (scripts/lib/build-netpol-conformance.sh)");
  const paths = scriptVars(BUILD_SCRIPT, "paths");
  const k8sVersion = paths.get("K8S_VERSION") ?? fail("no K8S_VERSION");
  const findings = auditPackages(paths.get("K8S_SOURCE") ?? fail("no K8S_SOURCE"), ["test/e2e/network/netpol"]);
  if (findings.length)
    fail(
      `the NetworkPolicy e2e sources name places beyond this machine:\n${findings.map((f) => `  ${f.file}:${f.line} ${f.what}`).join("\n")}`,
    );
  log("source audit: the NetworkPolicy e2e sources name no address beyond this machine");

  ensureClusterUp(log);
  const vars = clusterVars();
  const kubeconfig = vars.get("KUBECONFIG") ?? fail("scripts/cluster.sh env printed no KUBECONFIG");
  const kubectl = vars.get("KUBECTL") ?? fail("scripts/cluster.sh env printed no KUBECTL");
  importTestImages(vars.get("CONTAINERD_SOCK") ?? fail("scripts/cluster.sh env printed no CONTAINERD_SOCK"), ["agnhost"]);
  for (const name of await deleteLeftoverNamespaces(kubeconfig)) log(`deleted namespace ${name}, left by an interrupted run`);
  const dropsBefore = offMachineDrops();
  if (dropsBefore === undefined)
    fail("the local cluster's egress guard (iptables -t mangle AGSB-OFFMACHINE) is missing: run scripts/cluster.sh up");

  const workDir = mkdtempSync(join(tmpdir(), "agent-sandbox-netpol-"));
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, PATH: `${dirname(kubectl)}:${process.env["PATH"] ?? ""}` };
  const binary = join(paths.get("NETPOL_E2E_BIN") ?? fail("no NETPOL_E2E_BIN"), "netpol.test");
  const before = currentEnforcer();
  const runs: EnforcerRun[] = [];
  try {
    for (const enforcer of chosen) {
      switchEnforcer(enforcer);
      const startedAt = new Date();
      const specs = await runSuite(binary, enforcer, values.focus, env, workDir);
      const run: EnforcerRun = {
        enforcer,
        kubernetesVersion: k8sVersion,
        startedAt: startedAt.toISOString(),
        minutes: Math.round((Date.now() - startedAt.getTime()) / 6000) / 10,
        specs,
      };
      runs.push(run);
      const c = countSpecs(specs);
      log(`${enforcer}: ${c.passed} passed, ${c.failed} failed of ${c.ran} specs in ${run.minutes} min`);
      if (values.focus === undefined) {
        mkdirSync(RESULTS_DIR, { recursive: true });
        writeFileSync(join(RESULTS_DIR, `${enforcer}.json`), `${JSON.stringify(run, null, 2)}\n`);
      }
    }
  } finally {
    if (before !== "none" && before !== currentEnforcer()) switchEnforcer(before);
  }
  const dropsAfter = offMachineDrops();

  console.log("");
  for (const run of runs) {
    for (const s of run.specs.filter((x) => x.outcome === "failed"))
      console.log(`FAILED (${run.enforcer}): ${s.name}\n  ${s.failure ?? ""}`);
  }
  console.log("");
  for (const line of comparisonTable(runs)) console.log(line);
  console.log("");
  log(`logs and reports in ${workDir}`);
  const egress = egressFailure(dropsBefore, dropsAfter);
  const egressFailed = egress !== undefined;
  if (egress) console.error(`[netpol-conformance] FAILED: ${egress}`);
  else log("egress guard: 0 packets from pods tried to leave this machine");
  const totals = runs.map((r) => ({ enforcer: r.enforcer, ...countSpecs(r.specs) }));
  for (const t of totals) console.log(`${t.enforcer}: ${t.passed} passed, ${t.failed} failed`);
  const nothingRan = totals.some((t) => t.ran === 0);
  if (nothingRan) console.error("[netpol-conformance] FAILED: an enforcer's run ran no spec");
  process.exitCode = totals.some((t) => t.failed > 0) || egressFailed || nothingRan ? 1 : 0;
}

void main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
