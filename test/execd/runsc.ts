import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const CACHE = "/var/cache/agent-sandbox-ts";

/**
 * The runsc to use: EXECD_RUNSC, else a newer build cached under
 * /var/cache/agent-sandbox-ts/gvisor-<version>/, else Debian's `runsc` on PATH.
 */
export function findRunsc(): string | null {
  if (process.env.EXECD_RUNSC) return process.env.EXECD_RUNSC;
  if (existsSync(CACHE)) {
    const builds = readdirSync(CACHE)
      .filter((name) => name.startsWith("gvisor-"))
      .sort()
      .reverse();
    for (const build of builds) {
      for (const candidate of [path.join(CACHE, build, "bin", "runsc"), path.join(CACHE, build, "runsc")]) {
        if (existsSync(candidate)) return candidate;
      }
    }
  }
  try {
    return execFileSync("sh", ["-c", "command -v runsc"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Wraps a command so it runs inside a fresh gVisor sandbox via `runsc do`.
 *
 * `runsc do` gives the sandbox the host's filesystem read-only under a writable tmpfs
 * overlay and puts it in its own network namespace joined to the host by a veth pair whose
 * sandbox end is `ip`. With --network=host the sandbox uses that namespace's stack, so the
 * server listening on 0.0.0.0 inside is reachable from the host at `ip`. (The default
 * netstack mode refuses to start here: "cannot run with network enabled in root network
 * namespace".) Each sandbox needs its own /24, hence a random third octet.
 */
export function runscWrap(runsc: string): { ip: string; wrap: (argv: string[]) => { file: string; args: string[] } } {
  const octet = freeOctet();
  const ip = `192.168.${octet}.2`;
  return {
    ip,
    wrap: (argv) => ({ file: runsc, args: ["--network=host", "do", "-ip", ip, ...argv] }),
  };
}

/**
 * A third octet whose 192.168.X.0/24 no route on this machine uses yet: another sandbox of
 * this run, or one a killed run left behind, would otherwise catch the traffic.
 */
function freeOctet(): number {
  let routes = "";
  try {
    routes = execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" });
  } catch {
    // No ip(8): fall back to chance.
  }
  const taken = new Set([...routes.matchAll(/^192\.168\.(\d+)\.0\/24 /gm)].map((m) => Number(m[1])));
  const free = Array.from({ length: 150 }, (_, i) => 100 + i).filter((octet) => !taken.has(octet));
  if (free.length === 0)
    throw new Error("every 192.168.100-249.0/24 is routed already: remove the leftover runsc links (ip link del vp-runsc-...)");
  return free[Math.floor(Math.random() * free.length)]!;
}
