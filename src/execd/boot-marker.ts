import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Counts the server's boots in a file that lives as long as the pod (the operator points it
 * at the pod's /tmp emptyDir, which survives container restarts and a recreated gVisor
 * sandbox). Returns how many boots came before this one.
 */
export async function recordBoot(file: string): Promise<number> {
  let before = 0;
  try {
    const parsed = Number.parseInt((await readFile(file, "utf8")).trim(), 10);
    if (Number.isFinite(parsed) && parsed > 0) before = parsed;
  } catch {
    // First boot, or the file was removed: nothing known to be lost.
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${before + 1}\n`);
  return before;
}

/** What the first call on each default context says after a restart. */
export function restartNotice(bootsBefore: number): string | null {
  if (bootsBefore === 0) return null;
  return (
    `the execution server restarted (boot ${bootsBefore + 1} of this pod: its container or the whole ` +
    "sandbox was restarted, for example after running out of memory)"
  );
}
