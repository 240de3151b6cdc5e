// The conformance tier: runs upstream agent-sandbox's own e2e test binaries (built from the Go
// module proxy by scripts/lib/build-upstream-e2e.sh) against this project's operator on the
// local cluster, and prints a table of every upstream test with the counts.
//
//   npm run test:conformance                         every runnable upstream test
//   npm run test:conformance -- --run TestSimple     only tests matching a Go -test.run pattern
//   npm run test:conformance -- --binary extensions  only one binary (e2e | extensions)
//
// Needs root (it imports images into the cluster's containerd and reads its egress guard).
// Exits non-zero when a test fails, when a test skips itself, when a test is neither run nor
// listed as not runnable, or when a pod tried to send a packet off this machine.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { REPO_ROOT } from "../e2e/harness/cluster.js";
import {
  clusterVars,
  egressFailure,
  ensureClusterUp,
  importTestImages,
  offMachineDrops,
  scriptVars,
  UPSTREAM_TEST_IMAGES,
} from "./cluster-setup.js";
import { GoTestOutputParser, topLevelName } from "./go-test-output.js";
import { cleanLeftovers, namespaceNames } from "./leftovers.js";
import { countOutcomes, failureDetails, resultTable, type BinaryRun } from "./report.js";
import { auditPackages } from "./source-audit.js";
import { binaries, notRunnable, skipPattern, unaccounted, type UpstreamBinary } from "./upstream-plan.js";
import { startProvisioner } from "./volume-provisioner.js";

const BUILD_SCRIPT = resolve(REPO_ROOT, "scripts/lib/build-upstream-e2e.sh");
/** Upstream's test packages and the framework they share, read by the source audit. */
const AUDITED_DIRS = [...binaries.map((b) => b.sourceDir), "test/e2e/framework", "test/e2e/framework/predicates"];
/** Per binary; the slowest upstream tests wait minutes for pools to fill. */
const TEST_TIMEOUT = process.env["CONFORMANCE_TEST_TIMEOUT"] ?? "60m";

const log = (msg: string): void => console.log(`[conformance] ${msg}`);

/** Stops the tier; a setup failure counts as one failed test so the summary line still comes last. */
function fail(msg: string): never {
  console.error(`[conformance] ERROR: ${msg}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

/** Top-level tests and benchmarks a binary contains. */
function listTests(path: string): string[] {
  const r = spawnSync(path, ["-test.list", ".*"], { encoding: "utf8" });
  if (r.status !== 0) fail(`${path} -test.list failed: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(Test|Benchmark|Example|Fuzz)/.test(l));
}

/** Stops the tier before anything runs if upstream's sources could reach beyond this machine. */
function auditSources(moduleRoot: string): void {
  const skipped = new Set(notRunnable.map((n) => n.name));
  const findings = auditPackages(moduleRoot, AUDITED_DIRS);
  const blocking = findings.filter((f) => f.test === undefined || !skipped.has(f.test));
  for (const f of findings.filter((x) => !blocking.includes(x)))
    log(`source audit: ${f.file}:${f.line} ${f.what} (in ${f.test}, which does not run)`);
  if (blocking.length) {
    fail(
      `upstream's test sources name places beyond this machine; refusing to run them:\n${blocking.map((f) => `  ${f.file}:${f.line} ${f.what}${f.test ? ` (${f.test})` : ""}`).join("\n")}`,
    );
  }
  log(`source audit: no test that runs names an address beyond this machine (${AUDITED_DIRS.join(", ")})`);
}

interface RunOptions {
  env: NodeJS.ProcessEnv;
  workDir: string;
  run: string | undefined;
}

/** Runs one binary to completion, streaming its output to a log file and the parser. */
function runBinary(binary: UpstreamBinary, path: string, o: RunOptions): Promise<BinaryRun> {
  const cwd = join(o.workDir, binary.id);
  mkdirSync(cwd, { recursive: true });
  const args = ["-test.v", "-test.parallel=1", `-test.timeout=${TEST_TIMEOUT}`];
  const skip = skipPattern(binary.id);
  if (skip) args.push(`-test.skip=${skip}`);
  if (o.run) args.push(`-test.run=${o.run}`);
  const logPath = join(o.workDir, `${binary.id}.log`);
  log(`${binary.id}: ${path} ${args.join(" ")} (output: ${logPath})`);
  const started = Date.now();
  const out = createWriteStream(logPath);
  const parser = new GoTestOutputParser();
  const child = spawn(path, args, {
    cwd,
    env: { ...o.env, ...binary.env, ARTIFACTS: join(cwd, "artifacts") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const forward = (signal: NodeJS.Signals) => (): void => void child.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt).on("SIGTERM", onTerm);
  const consume = (stream: NodeJS.ReadableStream): Promise<void> =>
    new Promise((done) => {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on("line", (line) => {
        out.write(`${line}\n`);
        parser.line(line);
        const m = /^--- (PASS|FAIL|SKIP): (\S+) \((\S+)\)/.exec(line);
        if (m && topLevelName(m[2]!) === m[2]) log(`${binary.id} ${m[2]} ${m[1]} (${m[3]})`);
      });
      rl.on("close", done);
    });
  return new Promise((done) => {
    const streams = Promise.all([consume(child.stdout), consume(child.stderr)]);
    child.on("close", (code, signal) => {
      void streams.then(() => {
        process.off("SIGINT", onInt).off("SIGTERM", onTerm);
        out.end();
        if (signal) log(`${binary.id}: the binary was killed by ${signal}`);
        done({ binary: binary.id, results: parser.finish(code, signal), seconds: (Date.now() - started) / 1000 });
      });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { run: { type: "string" }, binary: { type: "string" } } });
  if (process.getuid?.() !== 0) fail("the conformance tier needs root: it imports images into the cluster's containerd and reads iptables");
  const started = Date.now();

  const build = spawnSync("bash", [BUILD_SCRIPT, "build"], { stdio: ["ignore", "inherit", "inherit"] });
  if (build.status !== 0) fail("building upstream's e2e binaries failed (scripts/lib/build-upstream-e2e.sh)");
  const paths = scriptVars(BUILD_SCRIPT, "paths");
  log(`upstream agent-sandbox ${paths.get("UPSTREAM_VERSION")}`);
  auditSources(paths.get("UPSTREAM_DIR") ?? fail("no UPSTREAM_DIR"));

  const selected = binaries.filter((b) => !values.binary || b.id === values.binary);
  if (!selected.length) fail(`unknown --binary ${values.binary} (e2e | extensions)`);
  for (const b of binaries) {
    const { unknown, stale } = unaccounted(b.id, listTests(paths.get(b.pathKey) ?? fail(`no ${b.pathKey}`)));
    if (unknown.length || stale.length) {
      fail(
        `${b.id}: the plan (test/conformance/upstream-plan.ts) is out of date: ` +
          `${unknown.length ? `neither run nor explained: ${unknown.join(", ")}; ` : ""}${stale.length ? `not in the binary: ${stale.join(", ")}` : ""}`,
      );
    }
  }

  ensureClusterUp(log);
  const vars = clusterVars();
  const kubeconfig = vars.get("KUBECONFIG") ?? fail("scripts/cluster.sh env printed no KUBECONFIG");
  const kubectl = vars.get("KUBECTL") ?? fail("scripts/cluster.sh env printed no KUBECTL");
  importTestImages(vars.get("CONTAINERD_SOCK") ?? fail("scripts/cluster.sh env printed no CONTAINERD_SOCK"), UPSTREAM_TEST_IMAGES);
  const rollout = spawnSync(
    kubectl,
    [
      "--kubeconfig",
      kubeconfig,
      "-n",
      "agent-sandbox-system",
      "rollout",
      "status",
      "deployment/agent-sandbox-controller",
      "--timeout=180s",
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (rollout.status !== 0) fail("the operator (deployment agent-sandbox-system/agent-sandbox-controller) is not ready");

  const dropsBefore = offMachineDrops();
  if (dropsBefore === undefined)
    fail("the local cluster's egress guard (iptables -t mangle AGSB-OFFMACHINE) is missing: run scripts/cluster.sh up");
  const workDir = mkdtempSync(join(tmpdir(), "agent-sandbox-conformance-"));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const namespacesBefore = await namespaceNames(kc);
  const provisioner = await startProvisioner(kc, join(workDir, "volumes"), (m) => log(`volumes: ${m}`));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    // The framework's port-forward helper runs `kubectl` from PATH.
    PATH: `${dirname(kubectl)}:${process.env["PATH"] ?? ""}`,
  };
  const runs: BinaryRun[] = [];
  try {
    for (const b of selected) runs.push(await runBinary(b, paths.get(b.pathKey)!, { env, workDir, run: values.run }));
  } finally {
    for (const done of await cleanLeftovers(kc, namespacesBefore).catch((e: unknown) => [`cleanup failed: ${String(e)}`]))
      log(`leftovers: ${done}`);
    await provisioner.stop();
  }
  const dropsAfter = offMachineDrops();

  const listed = notRunnable.filter((n) => selected.some((b) => b.id === n.binary));
  console.log("");
  for (const line of failureDetails(runs)) console.log(line);
  console.log("");
  for (const line of resultTable(runs, listed)) console.log(line);
  const counts = countOutcomes(runs, listed);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log("");
  log(
    `upstream ${paths.get("UPSTREAM_VERSION")}: ${counts.notRunnable} tests/benchmarks not runnable here (listed above); ` +
      `${provisioner.provisioned()} volumes provisioned; logs in ${workDir}; ${minutes} min`,
  );
  const egress = egressFailure(dropsBefore, dropsAfter);
  const egressFailed = egress !== undefined;
  if (egress) console.error(`[conformance] FAILED: ${egress}`);
  else log("egress guard: 0 packets from pods tried to leave this machine");
  const nothingRan = counts.passed + counts.failed === 0;
  if (nothingRan) console.error("[conformance] FAILED: no upstream test ran");
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exitCode = counts.failed > 0 || egressFailed || nothingRan ? 1 : 0;
}

void main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
