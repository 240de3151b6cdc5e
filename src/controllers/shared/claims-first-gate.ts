/**
 * Claims first, operator-wide: while the claim controller has claims queued or in hand, writes
 * nobody is waiting for (Events, relabelling the pod of a sandbox a claim just adopted) step
 * aside for a bounded while. On a busy API server every write costs every other write time; in
 * a burst of claims those background writes were a quarter of the operator's requests.
 */
/**
 * The longest any write is held back for waiting claims (the pool's refill and status, Events,
 * relabelling): claims that arrive without end must not starve the rest of the operator.
 */
export const maxClaimsFirstHoldMs = 10_000;

export type BoundedHold = { hold: false } | { hold: true; sinceMs: number; recheckAfterMs: number };

/**
 * Whether a write that wants to step aside for waiting claims may still do so: it may until it
 * has been held for maxClaimsFirstHoldMs since `heldSinceMs`, the start of its current streak
 * (undefined when it was not held on the last pass).
 */
export function boundedHold(wantsToHold: boolean, heldSinceMs: number | undefined, nowMs: number): BoundedHold {
  if (!wantsToHold) return { hold: false };
  const sinceMs = heldSinceMs ?? nowMs;
  const heldMs = nowMs - sinceMs;
  if (heldMs >= maxClaimsFirstHoldMs) return { hold: false };
  return { hold: true, sinceMs, recheckAfterMs: maxClaimsFirstHoldMs - heldMs };
}

export class ClaimsFirstGate {
  #probe: () => boolean = () => false;
  readonly #checkEveryMs: number;

  constructor(opts: { checkEveryMs?: number } = {}) {
    this.#checkEveryMs = opts.checkEveryMs ?? 20;
  }

  /** Wires the gate to what says claims are waiting (the claim controller's queue). */
  attach(probe: () => boolean): void {
    this.#probe = probe;
  }

  busy(): boolean {
    return this.#probe();
  }

  /**
   * Resolves once no claim is waiting, or after `maxWaitMs` at the latest. It checks an
   * in-memory queue length on a short timer: nothing is asked of the API server.
   */
  async yield(maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    const end = Date.now() + maxWaitMs;
    while (this.busy() && Date.now() < end && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(this.#checkEveryMs, Math.max(0, end - Date.now())));
        timer.unref?.();
      });
    }
  }
}
