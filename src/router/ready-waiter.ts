// Waits for a claim or Sandbox to change state using the informers' events, never by polling the API.
import type { KubernetesObject } from "@kubernetes/client-node";
import { getControllerOf, keyOf, makeKey, type EventHandler } from "../runtime/index.js";
import type { ClaimObject, SandboxObject } from "./caches.js";

/** The informers a waiter listens to (only their event handlers are used). */
export interface WatchedCaches {
  claims: { addHandler(h: EventHandler<ClaimObject>): void };
  sandboxes: { addHandler(h: EventHandler<SandboxObject>): void };
}

type Listener = () => void;

export class ReadyWaiter {
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(caches: WatchedCaches) {
    const onClaim = (obj: { metadata?: { namespace?: string; name?: string } }) => this.#notify(keyOf(obj));
    caches.claims.addHandler({ add: onClaim, update: onClaim, delete: onClaim });
    const onSandbox = (obj: KubernetesObject) => {
      const owner = getControllerOf(obj);
      if (owner?.kind === "SandboxClaim") this.#notify(makeKey(obj.metadata?.namespace ?? "", owner.name));
      // Cold claims name their Sandbox after themselves; warm ones are found through the owner.
      this.#notify(keyOf(obj));
    };
    caches.sandboxes.addHandler({ add: onSandbox, update: onSandbox, delete: onSandbox });
  }

  /**
   * Calls `listener` after every cache event that touches `name` in `namespace`: the claim or
   * Sandbox of that name, or a Sandbox controlled by the claim of that name. Returns the
   * unsubscribe function.
   */
  subscribe(namespace: string, name: string, listener: Listener): () => void {
    const key = makeKey(namespace, name);
    const set = this.#listeners.get(key) ?? new Set<Listener>();
    this.#listeners.set(key, set);
    // Each subscription is its own entry, even when one function is subscribed twice.
    const entry: Listener = () => listener();
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.#listeners.get(key) === set) this.#listeners.delete(key);
    };
  }

  /**
   * Resolves true as soon as `check()` holds (checked now and after every event that touches
   * the name), or false after `timeoutMs` or when `signal` aborts.
   */
  waitFor(namespace: string, name: string, check: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let finished = false;
      const finish = (done: boolean): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        unsubscribe();
        resolve(done);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      const unsubscribe = this.subscribe(namespace, name, () => {
        if (check()) finish(true);
      });
    });
  }

  #notify(key: string): void {
    const set = this.#listeners.get(key);
    if (!set) return;
    for (const listener of [...set]) listener();
  }
}
