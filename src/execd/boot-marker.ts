import { readFileSync } from "node:fs";
import { mkdir, readFile, statfs, writeFile } from "node:fs/promises";
import path from "node:path";

/** statfs(2)'s f_type of a tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/** What the boot marker knows about the boots of this pod's server before this one. */
export interface BootRecord {
  /** How many boots came before this one (0: the first). */
  bootsBefore: number;
  /**
   * Whether the kernel under the server was restarted since the last boot: under gVisor, the
   * whole sandbox (after a host OOM kill, say), not just the server's container. Undefined when
   * either boot's kernel start time is unknown.
   */
  kernelRestarted: boolean | undefined;
}

/**
 * Counts the server's boots in a file that lives as long as the pod (the operator points it
 * at the pod's /tmp emptyDir, which survives container restarts and a recreated gVisor
 * sandbox), with the kernel's boot time (`btime` of /proc/stat) at each.
 */
export async function recordBoot(file: string, kernelBootTime: number | undefined): Promise<BootRecord> {
  let before = 0;
  let previousBootTime: number | undefined;
  try {
    const [count, bootTime] = (await readFile(file, "utf8")).trim().split(/\s+/);
    const parsed = Number.parseInt(count ?? "", 10);
    if (Number.isFinite(parsed) && parsed > 0) before = parsed;
    const time = Number(bootTime);
    if (bootTime !== undefined && Number.isFinite(time)) previousBootTime = time;
  } catch {
    // First boot, or the file was removed: nothing known to be lost.
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${before + 1}${kernelBootTime === undefined ? "" : ` ${kernelBootTime}`}\n`);
  const kernelRestarted =
    before > 0 && previousBootTime !== undefined && kernelBootTime !== undefined
      ? // btime is whole seconds derived from the clock, so allow it to wobble by one.
        Math.abs(previousBootTime - kernelBootTime) > 1
      : undefined;
  return { bootsBefore: before, kernelRestarted };
}

/** The kernel's boot time in seconds since the epoch, or undefined where /proc/stat lacks it. */
export function readKernelBootTime(procStat = "/proc/stat"): number | undefined {
  try {
    // Read synchronously once at start-up: it is a few hundred bytes from procfs.
    const text = readFileSync(procStat, "utf8");
    const match = /^btime\s+(\d+)$/m.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `dir` is on a tmpfs, which lives and dies with the kernel that mounted it. */
export async function onTmpfs(dir: string): Promise<boolean> {
  try {
    return (await statfs(dir)).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * What the first call on each default context says after a restart, or null after a first
 * boot. `workspaceOnTmpfs` says whether the workspace went with a restarted kernel.
 */
export function restartNotice(boot: BootRecord, workspaceOnTmpfs: boolean): string | null {
  if (boot.bootsBefore === 0) return null;
  const which = `boot ${boot.bootsBefore + 1} of this pod`;
  if (boot.kernelRestarted === false)
    return `the execution server restarted (${which}: its container was restarted, for example after running out of memory); files in /workspace were kept`;
  if (boot.kernelRestarted === true) {
    const files = workspaceOnTmpfs ? "/workspace starts empty (it was the old sandbox's own tmpfs)" : "files in /workspace were kept";
    return `the execution server restarted (${which}: the whole sandbox was restarted, for example after running out of memory); ${files}`;
  }
  return (
    `the execution server restarted (${which}: its container or the whole ` +
    "sandbox was restarted, for example after running out of memory)"
  );
}
