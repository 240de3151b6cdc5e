// Waits for a claim to change state using the informers' events, never by polling the API.
import { getControllerOf, keyOf, makeKey } from "../runtime/index.js";
import type { RouterCaches } from "./caches.js";

type Waiter = { check: () => boolean; resolve: (done: boolean) => void };

export class ReadyWaiter {
  readonly #waiters = new Map<string, Set<Waiter>>();

  constructor(caches: RouterCaches) {
    const onClaim = (obj: { metadata?: { namespace?: string; name?: string } }) => this.#notify(keyOf(obj));
    caches.claims.addHandler({ add: onClaim, update: onClaim, delete: onClaim });
    const onSandbox = (obj: Parameters<typeof getControllerOf>[0]) => {
      const owner = getControllerOf(obj);
      if (owner?.kind === "SandboxClaim") this.#notify(makeKey(obj.metadata?.namespace ?? "", owner.name));
      // Cold claims name their Sandbox after themselves; warm ones are found through the owner.
      this.#notify(keyOf(obj));
    };
    caches.sandboxes.addHandler({ add: onSandbox, update: onSandbox, delete: onSandbox });
  }

  /**
   * Resolves true as soon as `check()` holds (checked now and after every event that touches
   * the claim), or false after `timeoutMs`.
   */
  waitFor(namespace: string, claimName: string, check: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    const key = makeKey(namespace, claimName);
    return new Promise<boolean>((resolve) => {
      const set = this.#waiters.get(key) ?? new Set<Waiter>();
      this.#waiters.set(key, set);
      const finish = (done: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        set.delete(waiter);
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
        resolve(done);
      };
      const waiter: Waiter = { check, resolve: finish };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(waiter);
    });
  }

  #notify(key: string): void {
    const set = this.#waiters.get(key);
    if (!set) return;
    for (const w of [...set]) if (w.check()) w.resolve(true);
  }
}
