import type { Logger } from "pino";
import { belongsTo, readProcessTable, type ProcessEntry, type ProcessOwner } from "./process-table.js";
import { residentTotal, sandboxMemoryUsage, sandboxTaskCount } from "./sandbox-usage.js";

/** A context the guard may stop: its id and what identifies its processes. */
export interface GuardedContext {
  id: string;
  owner: ProcessOwner;
}

/** Why the guard stopped a context, as its running call reports it. */
export interface ContainmentFailure {
  name: "ProcessLimitError" | "MemoryError";
  reason: string;
}

/** What the guard watches and acts on (the context manager). */
export interface GuardTarget {
  /** Contexts whose interpreter is running. */
  guarded(): GuardedContext[];
  /** Ids of the contexts running a call right now. */
  busy(): string[];
  /** Stops one context's interpreter and every process it started; fails its running call. */
  contain(id: string, failure: ContainmentFailure): Promise<void>;
}

export interface ResourceGuardOptions {
  /** Tasks (processes and threads) the whole sandbox may run; null for no limit. */
  maxTasks: number | null;
  /** Memory the whole sandbox may use before the largest context is stopped; null for none. */
  memoryLimitBytes: number | null;
  /**
   * Memory use at which new processes are refused (task_limit.c); past it the context running
   * the most processes, if it runs at least FORK_CULPRIT_MIN_PROCESSES, is stopped. Null for none.
   */
  forkMemoryBytes?: number | null;
  /** How often usage is read. */
  intervalMs: number;
  /** Whether the server owns its PID namespace (see ownsPidNamespace), so /proc is the sandbox's. */
  ownsNamespace: boolean;
  logger: Logger;
  procRoot?: string;
}

/** A context's share of the sandbox: how many of the processes, how much resident memory. */
export interface ContextUsage {
  id: string;
  processes: number;
  rssBytes: number;
}

/** Adds up each context's processes and resident memory from one /proc snapshot. Pure. */
export function usageByContext(table: readonly ProcessEntry[], contexts: readonly GuardedContext[]): ContextUsage[] {
  return contexts.map(({ id, owner }) => {
    const mine = table.filter((entry) => belongsTo(entry, owner));
    return { id, processes: mine.length, rssBytes: mine.reduce((sum, entry) => sum + entry.rssBytes, 0) };
  });
}

/** The context with the most of `measure`, when any has some. Pure. */
export function largest(usage: readonly ContextUsage[], measure: "processes" | "rssBytes"): ContextUsage | null {
  let best: ContextUsage | null = null;
  for (const entry of usage) {
    if (entry[measure] > 0 && (!best || entry[measure] > best[measure])) best = entry;
  }
  return best;
}

const MiB = 1024 * 1024;

/** Least share of the memory limit a context must hold to be stopped for the sandbox's memory. */
export const MIN_CULPRIT_SHARE = 0.1;

/** Least share of the sandbox's memory use the contexts together must hold for the guard to stop one. */
export const MIN_HELD_SHARE = 0.5;

/**
 * Least number of processes a context must run to be stopped when forks are refused for
 * memory: a fork bomb's context runs dozens, a program that is merely large runs a few (and
 * answers to the memory limit instead).
 */
export const FORK_CULPRIT_MIN_PROCESSES = 8;
const mib = (bytes: number): number => Math.round(bytes / MiB);

/**
 * Keeps one context's runaway code from taking the whole sandbox down. Under gVisor the host
 * neither counts a sandbox's processes against a PID limit nor stops them one by one: past
 * its memory limit the whole sandbox is killed, every context and the server with it. So
 * the server watches the sandbox's task count and memory itself, and when either passes its
 * limit it stops the context that holds the most of it (a fork bomb, contexts that together
 * outgrow the sandbox), whose running call fails with the reason. The rest carries on.
 */
export class ResourceGuard {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private unattributedLogged = false;

  constructor(
    private readonly target: GuardTarget,
    private readonly options: ResourceGuardOptions,
  ) {}

  /** Whether there is anything to watch. */
  get enabled(): boolean {
    return this.options.maxTasks !== null || this.options.memoryLimitBytes !== null;
  }

  start(): void {
    if (!this.enabled) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One look at the sandbox; acts when a limit is passed. Exposed for the tests. */
  async check(): Promise<void> {
    const { maxTasks, memoryLimitBytes, procRoot } = this.options;
    const forkMemoryBytes = this.options.forkMemoryBytes ?? null;
    if (this.target.guarded().length === 0) return;
    let table: Promise<ProcessEntry[]> | null = null;
    const snapshot = (): Promise<ProcessEntry[]> => (table ??= readProcessTable(procRoot));
    let memory: Promise<number> | null = null;
    const used = (): Promise<number> =>
      (memory ??= (async () => sandboxMemoryUsage(this.options.ownsNamespace) ?? residentTotal(await snapshot()))());

    if (maxTasks !== null) {
      const tasks = sandboxTaskCount(procRoot);
      // Forks fail at the limit (task_limit.c), so the count settles there rather than past it.
      if (tasks >= maxTasks) {
        const culprit = await this.processCulprit(snapshot);
        if (culprit) {
          await this.contain(culprit, {
            name: "ProcessLimitError",
            reason: `the sandbox reached its limit of ${maxTasks} processes and threads (${tasks} running); this context had started them and was stopped`,
          });
          return;
        }
        this.logUnattributed({ tasks, maxTasks }, "task limit passed, but no context holds the processes");
      }
    }

    if (forkMemoryBytes !== null && maxTasks !== null) {
      const inUse = await used();
      // Forks are being refused for memory (task_limit.c): a context that ran many processes
      // into that is a fork bomb by another road, and is stopped as one.
      if (inUse >= forkMemoryBytes) {
        const culprit = largest(usageByContext(await snapshot(), this.target.guarded()), "processes");
        if (culprit && culprit.processes >= FORK_CULPRIT_MIN_PROCESSES) {
          await this.contain(culprit, {
            name: "ProcessLimitError",
            reason: `the sandbox neared its memory limit (${mib(inUse)} MiB in use; new processes are refused from ${mib(forkMemoryBytes)} MiB) while this context ran ${culprit.processes} processes; it was stopped`,
          });
          return;
        }
      }
    }

    if (memoryLimitBytes !== null) {
      const inUse = await used();
      if (inUse > memoryLimitBytes) {
        const usage = usageByContext(await snapshot(), this.target.guarded());
        const culprit = largest(usage, "rssBytes");
        const heldByContexts = usage.reduce((sum, context) => sum + context.rssBytes, 0);
        // Memory no context holds (files in /dev/shm, say) is not a context's to answer for:
        // stopping one would free little of it, and the next look would stop another.
        if (culprit && culprit.rssBytes >= memoryLimitBytes * MIN_CULPRIT_SHARE && heldByContexts >= inUse * MIN_HELD_SHARE) {
          await this.contain(culprit, {
            name: "MemoryError",
            reason: `the sandbox was using ${mib(inUse)} MiB of memory, past its limit of ${mib(memoryLimitBytes)} MiB; this context held the most (${mib(culprit.rssBytes)} MiB) and was stopped`,
          });
          return;
        }
        this.logUnattributed({ usedBytes: inUse, memoryLimitBytes }, "memory limit passed, but no context holds the memory");
      }
    }
    this.unattributedLogged = false;
  }

  /**
   * The context to stop for too many tasks. A fork bomb's tasks starve everything else in
   * the sandbox, this server included, so reading /proc for each of them can take seconds
   * while the bomb grows: when one context alone is running a call, it is taken to be the
   * cause without that read. Otherwise the context with the most processes.
   */
  private async processCulprit(snapshot: () => Promise<ProcessEntry[]>): Promise<Pick<ContextUsage, "id"> | null> {
    const busy = this.target.busy();
    if (busy.length === 1) return { id: busy[0]! };
    return largest(usageByContext(await snapshot(), this.target.guarded()), "processes");
  }

  private async contain(culprit: Pick<ContextUsage, "id">, failure: ContainmentFailure): Promise<void> {
    this.options.logger.warn({ context: culprit.id, ...culprit, reason: failure.reason }, "stopping a context to keep the sandbox up");
    this.unattributedLogged = false;
    await this.target.contain(culprit.id, failure);
  }

  private logUnattributed(fields: Record<string, number>, message: string): void {
    if (this.unattributedLogged) return;
    this.unattributedLogged = true;
    this.options.logger.warn(fields, message);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.check()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, "resource check failed"))
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
