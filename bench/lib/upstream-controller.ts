// Upstream agent-sandbox's controller as a host process, for the `upstream` benchmark: finds (or
// builds, once, with scripts/lib/build-upstream-controller.sh) its binary, starts it against the
// cluster's admin kubeconfig with the extensions controllers on and no leader election, waits
// until every controller has started its workers, and stops it again.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { sleep } from "./local-cluster.js";

const repo = path.resolve(import.meta.dirname, "../..");
const buildScript = path.join(repo, "scripts/lib/build-upstream-controller.sh");

/** The binary and the upstream version it was built from; builds it when it is missing. */
export function upstreamControllerBinary(log: (m: string) => void): { binary: string; version: string } {
  const paths = (): Map<string, string> =>
    new Map(
      execFileSync("bash", [buildScript, "paths"], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
  let found = paths();
  const binary = found.get("UPSTREAM_CONTROLLER") ?? "";
  if (!existsSync(binary)) {
    log("building upstream's controller from the Go module proxy (first run only; a few minutes)");
    execFileSync("bash", [buildScript, "build"], { stdio: ["ignore", "inherit", "inherit"] });
    found = paths();
  }
  return { binary: found.get("UPSTREAM_CONTROLLER") ?? binary, version: found.get("UPSTREAM_VERSION") ?? "unknown" };
}

export interface UpstreamProcess {
  pid: number;
  /** CPU seconds (user+system) the process has used so far. */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * The flags it runs with. Without --extensions only the Sandbox controller runs. Leader election
 * off: only one copy ever runs, and our operator (its own lease anyway) is scaled to 0 first.
 * Metrics and probe servers off, so nothing binds a host port another process may hold.
 */
export const UPSTREAM_FLAGS = ["--extensions", "--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0"];

/** How many "Starting workers" log lines mean every controller runs (sandbox, claim, pool, template). */
const CONTROLLERS = 4;

export async function startUpstreamController(binary: string, kubeconfig: string, logFile: string): Promise<UpstreamProcess> {
  const fd = openSync(logFile, "a");
  const child = spawn(binary, ["--kubeconfig", kubeconfig, ...UPSTREAM_FLAGS], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ["ignore", fd, fd],
  });
  if (child.pid === undefined) throw new Error("upstream controller did not start");
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const startedAt = readFileSync(logFile, "utf8").length;
  // controller-runtime logs "Starting workers" per controller once its caches have synced: the
  // same point at which our operator's pods report Ready.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (gone()) throw new Error(`upstream controller exited at start (code ${child.exitCode}); see ${logFile}`);
    const started = readFileSync(logFile, "utf8")
      .slice(startedAt)
      .split("\n")
      .filter((l) => l.includes("Starting workers")).length;
    if (started >= CONTROLLERS) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`upstream controller started ${started} of ${CONTROLLERS} controllers within 90 s; see ${logFile}`);
    }
    await sleep(200);
  }
  return {
    pid,
    cpuSeconds() {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return (Number(stat[11]) + Number(stat[12])) / 100;
    },
    async stop() {
      if (gone()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
