import { readFileSync } from "node:fs";
import { isDead, listPids, type ProcessEntry } from "./process-table.js";
import { meminfoBytes } from "../meminfo.js";

/**
 * gVisor mounts its own cgroup controllers in each container at /sys/fs/cgroup/<controller>,
 * at the container's cgroup, readable by any user: the cheapest way to see what the whole
 * sandbox uses. Under gVisor pids.current counts tasks (processes and threads), as Linux
 * does, and memory.usage_in_bytes counts everything the sandbox's kernel holds, tmpfs
 * files in /dev/shm and /tmp included.
 */
const PIDS_CURRENT = "/sys/fs/cgroup/pids/pids.current";
const MEMORY_USAGE = "/sys/fs/cgroup/memory/memory.usage_in_bytes";

function readNumber(file: string): number | null {
  try {
    const value = Number(readFileSync(file, "utf8").trim());
    return Number.isFinite(value) && value >= 0 ? value : null;
  } catch {
    return null;
  }
}

/**
 * How many tasks the sandbox runs: the cgroup's count where there is one, else the
 * processes /proc lists (the server owns its PID namespace whenever the guard runs).
 */
export function sandboxTaskCount(procRoot = "/proc"): number {
  return readNumber(PIDS_CURRENT) ?? listPids(procRoot).length;
}

/** cgroup v2, as under runc: the container's own cgroup is mounted at /sys/fs/cgroup. */
const MEMORY_CURRENT = "/sys/fs/cgroup/memory.current";

/**
 * MemTotal minus MemAvailable. gVisor computes /proc/meminfo from its own accounting, so
 * inside a gVisor sandbox with no cgroup mounted (`runsc do`) this is the sandbox's use;
 * on a host or under runc it is the host's, hence only where the server owns its namespace
 * and no cgroup file answered.
 */
function meminfoUsed(): number | null {
  try {
    const text = readFileSync("/proc/meminfo", "utf8");
    const total = meminfoBytes(text, "MemTotal");
    const available = meminfoBytes(text, "MemAvailable");
    return total !== null && available !== null ? total - available : null;
  } catch {
    return null;
  }
}

/**
 * The sandbox's memory use: its cgroup's count (gVisor, runc with cgroup v1 or v2), else
 * /proc/meminfo where the server owns its PID namespace; null when neither says.
 */
export function sandboxMemoryUsage(ownsNamespace: boolean): number | null {
  return readNumber(MEMORY_USAGE) ?? readNumber(MEMORY_CURRENT) ?? (ownsNamespace ? meminfoUsed() : null);
}

/** Resident memory of every live process in a table: the fallback when no cgroup says. */
export function residentTotal(table: readonly ProcessEntry[]): number {
  return table.reduce((sum, entry) => (isDead(entry) ? sum : sum + entry.rssBytes), 0);
}
