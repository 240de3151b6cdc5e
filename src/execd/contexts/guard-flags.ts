import { containerMemoryBytes } from "../kernels/memory-cap.js";

/** Most tasks (processes and threads) a sandbox may run when `--max-tasks auto`. */
export const AUTO_MAX_TASKS = 256;

/**
 * Memory each task is allowed for when `--max-tasks auto` sizes the limit to the sandbox:
 * a forked Python process holds about 5 MiB under gVisor, so a sandbox full of them stays
 * inside its memory, next to the server's own 150 MiB or so.
 */
export const AUTO_BYTES_PER_TASK = 10 * 1024 * 1024;

/** Fewest tasks `auto` allows: the server, its init and a few contexts use about 20. */
export const AUTO_MIN_TASKS = 32;

/**
 * Share of the container's memory the whole sandbox may use when `--memory-guard auto`
 * before the context holding the most is stopped. Below 1 because gVisor's own overhead
 * counts against the pod's limit as well, and the guard looks only every few milliseconds.
 */
export const AUTO_MEMORY_GUARD_SHARE = 0.85;

/**
 * Whether the server owns its PID namespace: it is PID 1, or the child of the init that
 * took PID 1 for it. Then every process /proc shows is the sandbox's, and the cgroup
 * files it reads are the sandbox's own; that is when `auto` turns the guard on. A server
 * run directly on a host (development, most tests) leaves the guard off unless told.
 */
export function ownsPidNamespace(): boolean {
  return process.pid === 1 || process.ppid === 1;
}

/**
 * Parses a limit flag: `none` (null), `auto` (whatever `auto` returns) or a whole number of at
 * least `minimum`; anything else is refused with the flag and the value named.
 */
function parseLimit(flag: string, value: string, minimum: number, auto: () => number | null): number | null {
  const text = value.trim().toLowerCase();
  if (text === "none") return null;
  if (text === "auto") return auto();
  const count = Number(text);
  if (!Number.isInteger(count) || count < minimum) {
    throw new Error(`${flag}: expected "auto", "none" or a whole number of at least ${minimum}, got "${value}"`);
  }
  return count;
}

/**
 * Parses `--max-tasks`: a number, `auto` or `none`. Null means no limit. `auto` gives one
 * task per AUTO_BYTES_PER_TASK of the container's memory, between AUTO_MIN_TASKS and
 * AUTO_MAX_TASKS (AUTO_MAX_TASKS when the memory is unknown).
 */
export function parseMaxTasks(
  value: string,
  owned: boolean = ownsPidNamespace(),
  detect: () => number | null = containerMemoryBytes,
): number | null {
  return parseLimit("--max-tasks", value, 16, () => {
    if (!owned) return null;
    const memory = detect();
    if (memory === null) return AUTO_MAX_TASKS;
    return Math.min(AUTO_MAX_TASKS, Math.max(AUTO_MIN_TASKS, Math.floor(memory / AUTO_BYTES_PER_TASK)));
  });
}

/** Parses `--memory-guard`: a number of bytes, `auto` or `none`. Null means no guard. */
export function parseMemoryGuard(
  value: string,
  owned: boolean = ownsPidNamespace(),
  detect: () => number | null = containerMemoryBytes,
): number | null {
  return parseLimit("--memory-guard", value, 64 * 1024 * 1024, () => {
    const total = owned ? detect() : null;
    return total === null ? null : Math.floor(total * AUTO_MEMORY_GUARD_SHARE);
  });
}

/**
 * Share of the memory guard's threshold at which new processes are refused. Forked
 * interpreters each dirty a few MiB of their own, and a fork bomb in a sandbox whose memory is
 * already in use reaches the host's memory limit (the gVisor sandbox's own overhead on top of
 * what its processes use) before it reaches the task limit. Refusing forks earlier stops that
 * growth while the guard still has memory to act in.
 */
export const FORK_MEMORY_SHARE_OF_GUARD = 0.8;

/** Sandbox memory use at which task_limit.c refuses new processes: null without a memory guard. */
export function forkMemoryThreshold(memoryGuardBytes: number | null): number | null {
  return memoryGuardBytes === null ? null : Math.floor(memoryGuardBytes * FORK_MEMORY_SHARE_OF_GUARD);
}
