import { readFileSync } from "node:fs";
import { meminfoBytes } from "../meminfo.js";

/**
 * Share of the container's memory one interpreter may use when `--kernel-memory auto`.
 * Under gVisor a sandbox that passes its memory limit is killed as a whole by the host
 * (every context, the server, the pod's other container); capping each interpreter below
 * the limit turns a runaway allocation into an error inside the call instead.
 */
export const AUTO_KERNEL_MEMORY_SHARE = 0.75;

/** Environment variable the drivers read (and remove) to cap their own memory. */
export const KERNEL_MEMORY_ENV = "EXECD_KERNEL_MEMORY_BYTES";

/** Reads a whole file as text, or null when it does not exist or cannot be read. */
function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/**
 * The memory this container may use: the smallest of MemTotal (gVisor reports the pod's
 * limit there) and the cgroup v2 or v1 limit (runc). Null when none is readable.
 */
export function containerMemoryBytes(read: (file: string) => string | null = readText): number | null {
  const candidates: number[] = [];
  const memTotal = meminfoBytes(read("/proc/meminfo") ?? "", "MemTotal");
  if (memTotal !== null) candidates.push(memTotal);
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    const value = Number((read(file) ?? "").trim());
    // "max" (v2) and the v1 "unlimited" value (near 2^63) are no limit.
    if (Number.isFinite(value) && value > 0 && value < 2 ** 60) candidates.push(value);
  }
  return candidates.length > 0 ? Math.min(...candidates) : null;
}

/**
 * Parses `--kernel-memory`: a byte count, `auto` (a share of the container's memory) or
 * `none`. Returns the cap in bytes, or null for no cap.
 */
export function parseKernelMemory(value: string, detect: () => number | null = containerMemoryBytes): number | null {
  const text = value.trim().toLowerCase();
  if (text === "none" || text === "0") return null;
  if (text === "auto") {
    const total = detect();
    return total === null ? null : Math.floor(total * AUTO_KERNEL_MEMORY_SHARE);
  }
  const bytes = Number(text);
  if (!Number.isInteger(bytes) || bytes < 64 * 1024 * 1024) {
    throw new Error(`--kernel-memory: expected "auto", "none" or a number of bytes of at least 67108864, got "${value}"`);
  }
  return bytes;
}

/**
 * V8 manages its own heap and reserves far more address space than it uses, so node cannot
 * run under an address-space rlimit; its heap limit is set instead, leaving room for
 * the code, stacks and buffers outside the heap.
 */
export function nodeHeapMegabytes(capBytes: number): number {
  return Math.max(64, Math.floor((capBytes * 0.75) / (1024 * 1024)));
}
