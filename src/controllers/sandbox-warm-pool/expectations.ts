/**
 * Creations and deletions this process has issued but its cache has not shown
 * yet, per pool. Without them a reconcile that runs before the watch delivers
 * our own writes would count too few members and over-create (or too many and
 * over-delete). Entries expire so a lost watch event cannot wedge a pool.
 */
export class Expectations {
  readonly #creates = new Map<string, Map<string, number>>();
  readonly #deletes = new Map<string, Map<string, number>>();
  readonly #ttlMs: number;

  constructor(ttlMs = 60_000) {
    this.#ttlMs = ttlMs;
  }

  expectCreate(pool: string, name: string, now: number): void {
    entry(this.#creates, pool).set(name, now + this.#ttlMs);
  }

  expectDelete(pool: string, name: string, now: number): void {
    entry(this.#deletes, pool).set(name, now + this.#ttlMs);
  }

  /**
   * A delete that failed leaves the member in place: counted as pending it would hide the
   * member from the next pass (which would then neither delete it again nor report it) until
   * the entry expired, with nothing to wake the pool then.
   */
  deletionFailed(pool: string, name: string): void {
    this.#deletes.get(pool)?.delete(name);
  }

  /** A create that failed never shows up in the cache. */
  creationFailed(pool: string, name: string): void {
    this.#creates.get(pool)?.delete(name);
  }

  /**
   * Settles expectations against what the cache now holds and returns the
   * names still pending: created but not yet seen, deleted but still seen.
   */
  pending(pool: string, cachedNames: ReadonlySet<string>, now: number): { creating: string[]; deleting: string[] } {
    const creating = settle(this.#creates.get(pool), now, (name) => !cachedNames.has(name));
    const deleting = settle(this.#deletes.get(pool), now, (name) => cachedNames.has(name));
    return { creating, deleting };
  }

  forget(pool: string): void {
    this.#creates.delete(pool);
    this.#deletes.delete(pool);
  }
}

function entry(map: Map<string, Map<string, number>>, pool: string): Map<string, number> {
  let m = map.get(pool);
  if (!m) map.set(pool, (m = new Map()));
  return m;
}

function settle(m: Map<string, number> | undefined, now: number, stillPending: (name: string) => boolean): string[] {
  if (!m) return [];
  const out: string[] = [];
  for (const [name, expiresAt] of m) {
    if (expiresAt <= now || !stillPending(name)) m.delete(name);
    else out.push(name);
  }
  return out;
}
