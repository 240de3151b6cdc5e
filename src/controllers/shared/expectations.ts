/**
 * Creations and deletions this process has issued but its cache has not shown
 * yet, per owner (a pool's members, a sandbox's pod). Without them a reconcile
 * that runs before the watch delivers our own writes would count too few
 * children and create again (or too many and over-delete). Entries expire so a
 * lost watch event cannot wedge an owner.
 */
export class Expectations {
  readonly #creates = new Map<string, Map<string, number>>();
  readonly #deletes = new Map<string, Map<string, number>>();
  readonly #ttlMs: number;

  constructor(ttlMs = 60_000) {
    this.#ttlMs = ttlMs;
  }

  expectCreate(owner: string, name: string, now: number): void {
    entry(this.#creates, owner).set(name, now + this.#ttlMs);
  }

  expectDelete(owner: string, name: string, now: number): void {
    entry(this.#deletes, owner).set(name, now + this.#ttlMs);
  }

  /**
   * A delete that failed leaves the child in place: counted as pending it would hide the
   * child from the next pass (which would then neither delete it again nor report it) until
   * the entry expired, with nothing to wake the owner then.
   */
  deletionFailed(owner: string, name: string): void {
    this.#deletes.get(owner)?.delete(name);
  }

  /** A create that failed never shows up in the cache. */
  creationFailed(owner: string, name: string): void {
    this.#creates.get(owner)?.delete(name);
  }

  /**
   * Settles expectations against what the cache now holds and returns the
   * names still pending: created but not yet seen, deleted but still seen.
   */
  pending(owner: string, cachedNames: ReadonlySet<string>, now: number): { creating: string[]; deleting: string[] } {
    const creating = settle(this.#creates.get(owner), now, (name) => !cachedNames.has(name));
    const deleting = settle(this.#deletes.get(owner), now, (name) => cachedNames.has(name));
    return { creating, deleting };
  }

  forget(owner: string): void {
    this.#creates.delete(owner);
    this.#deletes.delete(owner);
  }
}

function entry(map: Map<string, Map<string, number>>, owner: string): Map<string, number> {
  let m = map.get(owner);
  if (!m) map.set(owner, (m = new Map()));
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
