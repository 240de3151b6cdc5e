import { execFileSync } from "node:child_process";
import os from "node:os";

function tryRun(file: string, args: string[]): string | null {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/** What the figures were measured on, so results from different machines are not confused. */
export function describeMachine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    memoryBytes: os.totalmem(),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    node: process.version,
    osRelease: tryRun("sh", ["-c", ". /etc/os-release && echo $PRETTY_NAME"]),
  };
}

export function toolVersion(file: string, args: string[]): string | null {
  return tryRun(file, args)?.split("\n")[0] ?? null;
}
