import { AnnotationKeys } from "../../api/index.js";
import { formatRFC3339Nano, wallClockNs } from "../../runtime/index.js";

interface ObservedClaim {
  metadata: { uid?: string | undefined; annotations?: Record<string, string> | undefined };
}

/**
 * When this process first saw each claim that does not yet carry the first-observed annotation,
 * ready to be stamped on it (upstream keeps the same in-memory record and stamps it on the first
 * reconcile). The time is taken at the claim's informer event, not when a worker gets to the key,
 * so that it includes the time the claim waited in the queue, as upstream's does. An entry lives
 * until the cache shows the annotation or the claim is deleted.
 */
export class FirstObserved {
  readonly #at = new Map<string, string>();
  readonly #clockNs: () => bigint;

  constructor(clockNs: () => bigint = wallClockNs) {
    this.#clockNs = clockNs;
  }

  /** For the claim informer's add and update events (a resync replays updates: harmless). */
  observe(claim: ObservedClaim): void {
    const uid = claim.metadata.uid;
    if (!uid) return;
    if (hasFirstObserved(claim)) this.#at.delete(uid);
    else if (!this.#at.has(uid)) this.#at.set(uid, formatRFC3339Nano(this.#clockNs()));
  }

  /** For the claim informer's delete events. */
  forget(claim: ObservedClaim): void {
    if (claim.metadata.uid) this.#at.delete(claim.metadata.uid);
  }

  /**
   * The value to stamp on `claim`, or undefined if it carries one already. A claim no event
   * reported yet (only in tests) is observed now. Read it in the same tick as the cached claim:
   * an event showing the annotation between the two reads would otherwise make the entry look
   * missing and a fresh time would replace the stamped one.
   */
  stampFor(claim: ObservedClaim): string | undefined {
    if (hasFirstObserved(claim)) return undefined;
    this.observe(claim);
    return claim.metadata.uid ? this.#at.get(claim.metadata.uid) : formatRFC3339Nano(this.#clockNs());
  }

  get size(): number {
    return this.#at.size;
  }
}

/** Upstream treats an empty value as missing, and so overwrites it. */
function hasFirstObserved(claim: ObservedClaim): boolean {
  return Boolean(claim.metadata.annotations?.[AnnotationKeys.ControllerFirstObservedAt]);
}
