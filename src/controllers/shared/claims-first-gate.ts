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

/** The claim controller's queue, as the gate sees it. */
export interface ClaimQueue {
  idle(): boolean;
  whenIdle(): Promise<void>;
}

/** Lets background writes step aside while the claim controller has claims queued or in hand. */
export class ClaimsFirstGate {
  #queue: ClaimQueue | undefined;

  /** Wires the gate to the claim controller's queue. */
  attach(queue: ClaimQueue): void {
    this.#queue = queue;
  }

  /** Claims are queued or being reconciled. */
  busy(): boolean {
    return this.#queue !== undefined && !this.#queue.idle();
  }

  /**
   * Resolves once no claim is waiting, or after `maxWaitMs` at the latest, or when `signal`
   * aborts. The queue says when it empties: nothing polls, and nothing is asked of the API server.
   */
  async yield(maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.#queue || !this.busy() || signal?.aborted) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs);
      timer.unref?.();
      onAbort = resolve;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.#queue.whenIdle(), bound]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }
}
