// Runs the compiled operator as its own process (so its memory and CPU can be measured apart
// from the benchmark's, and so fault tests can SIGKILL/SIGSTOP it), against a given kubeconfig.
// Without leader election unless the caller passes --leader-elect=true (later flags win).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const repo = path.resolve(import.meta.dirname, "../..");

export interface OperatorProcess {
  child: ChildProcess;
  pid: number;
  /** Where its logs (pino JSON) go, when a logFile was given. */
  logFile: string | undefined;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  /** Peak resident set size (VmHWM) and CPU seconds (user+system) so far. */
  usage(): { peakRssMB: number; rssMB: number; cpuSeconds: number };
  stop(): Promise<void>;
  /** SIGKILL, no chance to release the lease or drain; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface OperatorProcessOptions {
  /** Append its logs (stdout and stderr) to this file instead of dropping stdout and inheriting stderr. */
  logFile?: string;
  /** LOG_LEVEL for the operator (default warn). */
  logLevel?: string;
  env?: NodeJS.ProcessEnv;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than src/ (so a fix in src/ is what runs). */
export function ensureBuilt(): void {
  const main = path.join(repo, "dist/operator/main.js");
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(path.join(repo, "src"))) return;
  // Several test runs may want a build at once; one builds, the others wait and find it fresh.
  try {
    execFileSync("flock", ["/tmp/agent-sandbox-ts-build.lock", "npm", "run", "build"], {
      cwd: repo,
      stdio: ["ignore", "ignore", "inherit"],
    });
  } catch (err) {
    // tsc still emits on type errors (someone mid-edit elsewhere in src/); run what was built.
    if (!existsSync(main)) throw err;
    console.error(`[operator-process] npm run build failed (${String(err)}); running the dist/ it left`);
  }
}

export async function startOperatorProcess(
  kubeconfig: string,
  args: string[] = [],
  opts: OperatorProcessOptions = {},
): Promise<OperatorProcess> {
  ensureBuilt();
  const logFd = opts.logFile ? openSync(opts.logFile, "a") : undefined;
  const child = spawn(
    process.execPath,
    [path.join(repo, "dist/operator/main.js"), "--leader-elect=false", "--health-address=127.0.0.1:0", ...args],
    {
      env: { ...process.env, ...opts.env, KUBECONFIG: kubeconfig, LOG_LEVEL: opts.logLevel ?? "warn" },
      stdio: ["ignore", logFd ?? "ignore", logFd ?? "inherit"],
    },
  );
  if (child.pid === undefined) throw new Error("operator process did not start");
  const pid = child.pid;
  const exited = new Promise<number | string | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  await new Promise((r) => setTimeout(r, 300));
  if (child.exitCode !== null)
    throw new Error(`operator exited at start with code ${child.exitCode}${opts.logFile ? `; see ${opts.logFile}` : ""}`);
  const ticks = 100; // USER_HZ on Linux
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid,
    logFile: opts.logFile,
    exited,
    usage() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      const cpu = (Number(stat[11]) + Number(stat[12])) / ticks;
      return { peakRssMB: Math.round(kb("VmHWM") / 102.4) / 10, rssMB: Math.round(kb("VmRSS") / 102.4) / 10, cpuSeconds: cpu };
    },
    async stop() {
      if (gone()) return;
      // A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (gone()) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
