// Child-process helpers for the test control plane: free loopback ports, spawning with logs to
// files, readiness polling and stopping by PID.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

export function startProcess(name: string, bin: string, args: string[], dir: string, env: NodeJS.ProcessEnv = process.env): Proc {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(bin, args, { cwd: dir, env, stdio: ["ignore", fd, fd] });
  if (child.pid === undefined) throw new Error(`failed to start ${name} (${bin})`);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { name, pid: child.pid, child, logFile, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(p: Proc, graceMs = 5_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(p.pid, "SIGTERM");
  } catch {
    return;
  }
  const killed = await Promise.race([p.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), graceMs))]);
  if (!killed) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    await p.exited;
  }
}

/** Polls `check` until it returns true; fails early if `proc` exits. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, proc?: Proc): Promise<void> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  let exited = false;
  void proc?.exited.then(() => (exited = true));
  while (Date.now() < end) {
    if (exited && proc) throw new Error(`${proc.name} exited while waiting for ${what}; see ${proc.logFile}`);
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}${proc ? `; see ${proc.logFile}` : ""}`,
  );
}
