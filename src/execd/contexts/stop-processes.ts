import { setTimeout as sleep } from "node:timers/promises";
import { belongsTo, readProcessTable, type ProcessOwner } from "./process-table.js";

/** Rounds of look-and-kill before giving up on processes that keep appearing. */
const MAX_ROUNDS = 200;
const ROUND_PAUSE_MS = 10;

/**
 * Kills every process of one interpreter, the ones that left its process group or session
 * included, and repeats until none is left: a fork bomb keeps creating processes between one
 * look at /proc and the next. Returns how many were killed.
 */
export async function stopProcesses(owner: ProcessOwner, procRoot = "/proc"): Promise<number> {
  let killed = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const targets = (await readProcessTable(procRoot)).filter((entry) => entry.pid !== process.pid && belongsTo(entry, owner));
    if (targets.length === 0) return killed;
    // Stopped first, so that none of them forks while the others are being killed (a fork
    // bomb's processes fork again as soon as killing its siblings brings the count under the cap).
    for (const signal of ["SIGSTOP", "SIGKILL"] as const) {
      for (const entry of targets) {
        try {
          process.kill(entry.pid, signal);
          if (signal === "SIGKILL") killed++;
        } catch {
          // Already gone.
        }
      }
    }
    await sleep(ROUND_PAUSE_MS);
  }
  return killed;
}
