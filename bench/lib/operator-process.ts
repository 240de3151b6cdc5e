// Runs the compiled operator as its own process (so its memory and CPU can be measured apart
// from the benchmark's), against a given kubeconfig, without leader election.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const repo = path.resolve(import.meta.dirname, "../..");

export interface OperatorProcess {
  child: ChildProcess;
  /** Peak resident set size (VmHWM) and CPU seconds (user+system) so far. */
  usage(): { peakRssMB: number; rssMB: number; cpuSeconds: number };
  stop(): Promise<void>;
}

export function ensureBuilt(): void {
  if (existsSync(path.join(repo, "dist/operator/main.js"))) return;
  execFileSync("npm", ["run", "build"], { cwd: repo, stdio: "inherit" });
}

export async function startOperatorProcess(kubeconfig: string, args: string[] = []): Promise<OperatorProcess> {
  ensureBuilt();
  const child = spawn(process.execPath, [path.join(repo, "dist/operator/main.js"), "--leader-elect=false", "--health-address=127.0.0.1:0", ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfig, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await new Promise((r) => setTimeout(r, 300));
  if (child.exitCode !== null) throw new Error(`operator exited at start with code ${child.exitCode}`);
  const ticks = 100; // USER_HZ on Linux
  return {
    child,
    usage() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      const cpu = (Number(stat[11]) + Number(stat[12])) / ticks;
      return { peakRssMB: Math.round(kb("VmHWM") / 102.4) / 10, rssMB: Math.round(kb("VmRSS") / 102.4) / 10, cpuSeconds: cpu };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
