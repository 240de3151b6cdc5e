// Calls can come many times a second; the objects that record them are written at most once per
// interval. The first touch of a key writes at once, touches within the interval only update
// the value held in memory, and one trailing write carries the latest value.
import type { Logger } from "../runtime/index.js";

/** The object a key's writes go to. */
export interface WriteTarget {
  namespace: string;
  name: string;
}

/** What a write did: "ok" (written), "skipped" (nothing to write) or "gone" (stop tracking the key). */
export type WriteOutcome = "ok" | "skipped" | "gone";

/** How a CoalescedWrites writes, merges and reports. */
export interface CoalescedWritesOptions<V> {
  /** Writes `value` to `target`. A rejection is logged and counted as "error". */
  write: (target: WriteTarget, value: V) => Promise<WriteOutcome>;
  /** The value to keep when a touch brings `next` while `held` waits to be written. */
  merge: (held: V, next: V) => V;
  /** Counts each write's outcome (for metrics). */
  count: (result: WriteOutcome | "error") => void;
  logger: Logger;
  /** What the log says could not be done, e.g. "Could not extend the sandbox TTL". */
  failure: string;
  now?: () => number;
}

interface Pending<V> {
  target: WriteTarget;
  value: V;
  lastWriteAt: number | undefined;
  intervalMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  writing: Promise<void> | undefined;
}

/** Per-key writes, coalesced to one per interval (see the file comment). */
export class CoalescedWrites<V> {
  readonly #o: CoalescedWritesOptions<V>;
  readonly #pending = new Map<string, Pending<V>>();
  #stopped = false;

  constructor(o: CoalescedWritesOptions<V>) {
    this.#o = o;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }

  /** Records `value` for `key`; it is written now or at the end of the key's current interval. */
  touch(key: string, target: WriteTarget, value: V, intervalMs: number): void {
    if (this.#stopped) return;
    const now = this.#now();
    let p = this.#pending.get(key);
    if (!p) {
      p = { target, value, lastWriteAt: undefined, intervalMs, timer: undefined, writing: undefined };
      this.#pending.set(key, p);
    } else {
      p.value = this.#o.merge(p.value, value);
    }
    p.intervalMs = intervalMs;
    if (p.timer) return;
    const dueAt = p.lastWriteAt === undefined ? now : p.lastWriteAt + p.intervalMs;
    p.timer = setTimeout(() => void this.#flush(key), Math.max(0, dueAt - now));
    p.timer.unref();
  }

  async #flush(key: string): Promise<void> {
    const p = this.#pending.get(key);
    if (!p) return;
    p.timer = undefined;
    p.lastWriteAt = this.#now();
    const write = this.#o.write(p.target, p.value).then(
      (outcome) => {
        this.#o.count(outcome);
        if (outcome === "gone") this.#pending.delete(key);
      },
      (err: unknown) => {
        this.#o.count("error");
        this.#o.logger.warn({ err, object: key }, this.#o.failure);
      },
    );
    p.writing = write;
    await write;
    p.writing = undefined;
    if (this.#pending.get(key) === p) this.#forgetLater(key, p);
  }

  /** Forgets the key once a whole interval passes without another touch. */
  #forgetLater(key: string, p: Pending<V>): void {
    setTimeout(() => {
      if (!p.timer && this.#pending.get(key) === p) this.#pending.delete(key);
    }, p.intervalMs).unref();
  }

  /** Keys with a write scheduled or remembered (for tests and metrics). */
  pendingCount(): number {
    return this.#pending.size;
  }

  /** Writes outstanding values now (graceful shutdown) and stops accepting touches. */
  async flushAll(): Promise<void> {
    this.#stopped = true;
    const work: Promise<void>[] = [];
    for (const [key, p] of this.#pending) {
      if (p.timer) {
        clearTimeout(p.timer);
        work.push(this.#flush(key));
      } else if (p.writing) work.push(p.writing);
    }
    await Promise.all(work);
  }
}
