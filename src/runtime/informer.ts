// An informer: a list+watch cache of one resource. It lists (paged), then watches from the
// list's resourceVersion with bookmarks, tracking the latest resourceVersion seen. When the
// stream ends (server timeout, connection closed) it watches again from that version; on 410
// Gone (the version was compacted away) it lists again and diffs the fresh list against the
// cache, so objects deleted meanwhile fire delete handlers. Any other error restarts it with
// backoff. On top: hasSynced()/waitForSync(), custom indexes, old objects on update,
// managedFields stripping and pruning, and helpers that turn events into work-queue keys.
// Handlers must only enqueue keys: all work happens in reconcile, never in a watch callback.
// Reads show this process its own writes (read-your-writes.ts feeds them to observe()) until the watch
// brings the same or a newer version: the idea of client-go's MutationCache.
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { ApiError, apiErrorFrom, GoneError } from "./errors.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import type { Kube, WatchEvent } from "./kube.js";
import { keyOf, makeKey } from "./keys.js";
import { getControllerOf, groupOf } from "./ownerrefs.js";
import type { UpdatePredicate } from "./predicates.js";

export type IndexFunc<T> = (obj: T) => readonly string[];

export interface EventHandler<T> {
  add?(obj: T): void;
  update?(obj: T, old: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  kube: Kube;
  apiVersion: string;
  kind: string;
  /** Watch one namespace only; default all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Named index functions for byIndex(); e.g. { byOwnerUID: controllerUIDIndex }. */
  indexers?: Record<string, IndexFunc<T>>;
  logger?: Logger;
  /**
   * Restart backoff after a non-410 error (default 1 s doubling to 8 s, with jitter). The cap is
   * lower than client-go's 30 s: an operator runs a handful of informers, so retrying every 8 s
   * through an API server outage costs little and the informer is back soon after the server.
   */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** Page size of the initial/re-list (default 500). */
  pageSize?: number;
  /** Server-side timeout of each watch request; default random 300-600 s (client-go's spread). */
  watchTimeoutSeconds?: number;
  /**
   * Prunes each object in place before it is cached (after managedFields are stripped), to keep
   * only what the controllers read: memory, not correctness. Must be idempotent.
   */
  prune?: (obj: T) => void;
  /**
   * If set, every `resyncMs` each cached object is replayed to the update handlers as
   * update(obj, obj), so every key is reconciled again periodically (client-go's resync).
   * Prefer `requeueAfter` for per-object timers; resync is a safety net.
   */
  resyncMs?: number;
}

const NAMESPACE_INDEX = "__namespace";

/** How long a write is shown ahead of the watch at most: a watch that never brings it must not pin it. */
const WRITE_OVERLAY_MS = 60_000;

/** One of this process's writes, newer than the cached version. */
interface OverlaidWrite<T> {
  obj: T;
  resourceVersion: bigint;
  expiresAt: number;
}

export class Informer<T extends KubernetesObject> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly #opts: InformerOptions<T>;
  readonly #log: Logger;
  readonly #store = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  readonly #handlers: EventHandler<T>[] = [];
  /** This process's writes that the watch has not brought yet, by key. */
  readonly #written = new Map<string, OverlaidWrite<T>>();
  #path: string | undefined;
  /** The latest resourceVersion seen (list, event or bookmark); "" = list first. */
  #rv = "";
  /** Aborts the current list/watch run; a new run gets a new one. */
  #run: AbortController | undefined;
  #synced = false;
  #listedOnce = false;
  #stopped = true;
  #errors = 0;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #syncWaiters: Array<() => void> = [];
  #lists = 0;
  #watches = 0;
  #restarts = 0;
  #resyncTimer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: InformerOptions<T>) {
    this.#opts = opts;
    this.apiVersion = opts.apiVersion;
    this.kind = opts.kind;
    this.#log = (opts.logger ?? silentLogger()).child({ informer: `${opts.kind}.${opts.apiVersion}` });
    this.#indexers.set(NAMESPACE_INDEX, (o) => [o.metadata?.namespace ?? ""]);
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) this.addIndexer(name, fn);
  }

  /** Adds an index; must be called before start(). */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.#path !== undefined) throw new Error(`informer ${this.kind}: addIndexer("${name}") after start`);
    if (this.#indexers.has(name)) throw new Error(`informer ${this.kind}: index "${name}" already exists`);
    this.#indexers.set(name, fn);
  }

  addHandler(h: EventHandler<T>): void {
    this.#handlers.push(h);
  }

  /**
   * Starts list+watch (or resumes it after stop()). Resolves once the first list has been applied
   * and the watch opened, or after the first attempt failed: the informer then keeps retrying in
   * the background and hasSynced() stays false until a list succeeds.
   */
  async start(): Promise<void> {
    if (!this.#stopped) throw new Error(`informer ${this.kind}: already started`);
    this.#stopped = false;
    // After stop(), #rv is kept: the watch resumes from it, and if that version has been
    // compacted meanwhile the API server answers 410 and we re-list, firing delete handlers
    // for objects that vanished while we were stopped.
    try {
      this.#path ??= await this.#opts.kube.pathFor({ apiVersion: this.apiVersion, kind: this.kind, namespace: this.#opts.namespace });
    } catch (err) {
      this.#onError(err);
      return;
    }
    await this.#startRun();
  }

  /** One list(if needed)+watch run; resolves once the watch is open (or the attempt failed). */
  async #startRun(): Promise<void> {
    if (this.#stopped) return;
    this.#run?.abort();
    const run = new AbortController();
    this.#run = run;
    let opened: () => void = () => undefined;
    const open = new Promise<void>((resolve) => (opened = resolve));
    void this.#listAndWatch(run.signal, opened).then(
      () => opened(),
      (err: unknown) => {
        opened();
        if (!run.signal.aborted) this.#onError(err);
      },
    );
    await open;
  }

  /**
   * Lists when there is no resourceVersion to resume from, then watches until the stream ends
   * (watch again from #rv), a 410 (list again) or an error (thrown to the restart backoff).
   */
  async #listAndWatch(signal: AbortSignal, opened: () => void): Promise<void> {
    const path = this.#path as string;
    while (!signal.aborted) {
      if (!this.#rv) {
        await this.#relist(path, signal);
        if (signal.aborted) return;
        this.#markSynced();
      }
      // Servers end a watch after timeoutSeconds; spread them as client-go does (5-10 min), so
      // the informers of a process do not all re-watch at once.
      const timeoutSeconds = this.#opts.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
      try {
        const events = await this.#opts.kube.watch<T>(path, {
          query: {
            resourceVersion: this.#rv,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.#opts.labelSelector,
            fieldSelector: this.#opts.fieldSelector,
          },
          signal,
          // No byte for a minute past the server's own timeout means the connection is dead.
          idleTimeoutMs: (timeoutSeconds + 60) * 1000,
        });
        this.#watches++;
        opened();
        for await (const ev of events) this.#onWatchEvent(ev);
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) {
          this.#log.debug({ resourceVersion: this.#rv }, "Watch expired (410); listing again");
          this.#rv = "";
          continue;
        }
        throw err;
      }
      this.#errors = 0;
    }
  }

  #onWatchEvent(ev: WatchEvent<T>): void {
    switch (ev.type) {
      case "ADDED":
      case "MODIFIED":
        this.#trackRV(ev.object);
        this.#onUpsert(ev.object);
        break;
      case "DELETED":
        this.#trackRV(ev.object);
        this.#onDelete(ev.object);
        break;
      case "BOOKMARK":
        this.#trackRV(ev.object);
        break;
      case "ERROR": {
        const st = ev.object as { code?: number };
        throw apiErrorFromEvent(this.#path ?? "", st);
      }
      default:
        this.#log.warn({ type: (ev as { type?: unknown }).type }, "Ignoring a watch event of unknown type");
    }
  }

  #trackRV(obj: KubernetesObject): void {
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.#rv = rv;
  }

  #markSynced(): void {
    if (this.#listedOnce && !this.#resyncTimer && this.#opts.resyncMs && this.#opts.resyncMs > 0) {
      this.#resyncTimer = setInterval(() => this.#resync(), this.#opts.resyncMs);
      this.#resyncTimer.unref?.();
    }
    if (this.#listedOnce && !this.#synced) {
      this.#synced = true;
      this.#log.debug({ objects: this.#store.size }, "Cache synced");
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    clearInterval(this.#resyncTimer);
    this.#resyncTimer = undefined;
    this.#run?.abort();
    this.#run = undefined;
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the cache holds a full list; rejects on timeout or abort. */
  waitForSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 120_000;
      const timer = setTimeout(
        () => done(new Error(`informer ${this.kind}.${this.apiVersion}: cache did not sync within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = (): void => done(new Error(`informer ${this.kind}: waitForSync aborted`));
      const done = (err?: Error): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else if (this.#synced) resolve();
        else reject(new Error(`informer ${this.kind}: stopped before sync`));
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push(() => done());
    });
  }

  /**
   * Fills the cache as if a list had returned `objects` (indexes built, handlers fired) and marks
   * it synced, for a cache that is never started: what client-go's tests do through the
   * informer's store. A started informer refuses, since its next list would undo it.
   */
  seed(objects: readonly T[]): void {
    if (!this.#stopped) throw new Error(`informer ${this.kind}: seed() on a started informer`);
    for (const obj of objects) this.#onUpsert(obj);
    this.#synced = true;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.getByKey(makeKey(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.#newerWrite(key)?.obj ?? this.#store.get(key);
  }

  /** Cached objects, optionally of one namespace. */
  list(namespace?: string): T[] {
    if (namespace === undefined) return this.keys().flatMap((k) => this.getByKey(k) ?? []);
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  /** Completed full lists (initial + re-lists after 410), watches opened, restarts after errors; for metrics and tests. */
  stats(): { lists: number; watches: number; restarts: number; resourceVersion: string } {
    return { lists: this.#lists, watches: this.#watches, restarts: this.#restarts, resourceVersion: this.#rv };
  }

  keys(): string[] {
    const keys = [...this.#store.keys()];
    for (const key of this.#written.keys()) if (!this.#store.has(key) && this.#newerWrite(key)) keys.push(key);
    return keys;
  }

  /** Objects whose index function returned `value` for index `name`. */
  byIndex(name: string, value: string): T[] {
    const fn = this.#indexers.get(name);
    if (!fn) throw new Error(`informer ${this.kind}: no index named "${name}"`);
    const out: T[] = [];
    for (const k of this.#indexes.get(name)?.get(value) ?? []) {
      const write = this.#newerWrite(k);
      if (!write) {
        const o = this.#store.get(k);
        if (o) out.push(o);
      } else if (safeIndex(fn, write.obj).includes(value)) out.push(write.obj);
    }
    // Writes whose index value the cached version does not have yet (a new owner, a new object).
    for (const [k, write] of this.#written) {
      if (this.#indexes.get(name)?.get(value)?.has(k) || !this.#newerWrite(k)) continue;
      if (safeIndex(fn, write.obj).includes(value)) out.push(write.obj);
    }
    return out;
  }

  /**
   * Shows `obj`, as the API server just returned it to this process (a write's answer), to every
   * read until the watch brings this version or a newer one. Ignored when the cache already holds as new a version,
   * when the object is outside what this informer watches (namespace, label selector), or when
   * its or the cached resourceVersion is not a number (the two could not be ordered).
   */
  observe(obj: T): void {
    if (obj.apiVersion !== this.apiVersion || obj.kind !== this.kind || !obj.metadata?.name) return;
    const resourceVersion = versionOf(obj);
    if (resourceVersion === undefined || !this.#wouldWatch(obj)) return;
    const key = keyOf(obj);
    const cached = this.#store.get(key);
    const cachedVersion = cached ? versionOf(cached) : undefined;
    if (cached && (cachedVersion === undefined || cachedVersion >= resourceVersion)) return;
    const earlier = this.#written.get(key);
    if (earlier && earlier.resourceVersion >= resourceVersion) return;
    // A copy: the caller keeps the object it was returned, unpruned.
    const copy = structuredClone(obj);
    stripManagedFields(copy);
    this.#opts.prune?.(copy);
    this.#written.set(key, { obj: copy, resourceVersion, expiresAt: Date.now() + WRITE_OVERLAY_MS });
  }

  /** Writes shown ahead of the watch right now (for tests and metrics). */
  get pendingWrites(): number {
    return [...this.#written.keys()].filter((k) => this.#newerWrite(k)).length;
  }

  /** The write recorded for `key` while it is newer than the cached version; drops it once it is not. */
  #newerWrite(key: string): OverlaidWrite<T> | undefined {
    const write = this.#written.get(key);
    if (!write) return undefined;
    const cached = this.#store.get(key);
    const cachedVersion = cached ? versionOf(cached) : undefined;
    if (write.expiresAt <= Date.now() || (cached && (cachedVersion === undefined || cachedVersion >= write.resourceVersion))) {
      this.#written.delete(key);
      return undefined;
    }
    return write;
  }

  /** Whether the watch would bring `obj`: same namespace (if one), matching label selector, no field selector. */
  #wouldWatch(obj: T): boolean {
    if (this.#opts.fieldSelector) return false;
    if (this.#opts.namespace && obj.metadata?.namespace !== this.#opts.namespace) return false;
    return matchesLabelSelector(this.#opts.labelSelector, obj.metadata?.labels ?? {});
  }

  /**
   * Lists every page, then makes the cache equal to the list: new objects fire add, changed ones
   * update, and cached objects missing from the list fire delete (deletions a broken watch missed).
   */
  async #relist(path: string, signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page: KubernetesListObject<T> = await this.#opts.kube.request("GET", path, {
        signal,
        query: {
          labelSelector: this.#opts.labelSelector,
          fieldSelector: this.#opts.fieldSelector,
          limit: this.#opts.pageSize ?? 500,
          continue: cont,
        },
      });
      // All pages are one snapshot: the first page's resourceVersion is the list's.
      if (!cont) rv = page.metadata?.resourceVersion ?? "";
      for (const item of page.items ?? []) {
        // Lists do not carry apiVersion/kind on items; add them so cached objects are self-describing.
        item.apiVersion ??= this.apiVersion;
        item.kind ??= this.kind;
        items.push(item);
      }
      // Raw JSON (no ObjectSerializer), so the token is "continue", not the model's "_continue".
      cont = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
    } while (cont);
    if (signal.aborted) return;
    this.#listedOnce = true;
    this.#lists++;
    this.#errors = 0;
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.#store.get(key);
      // Unchanged since we last saw it: nothing to tell the handlers.
      if (old && old.metadata?.resourceVersion && old.metadata.resourceVersion === item.metadata?.resourceVersion) continue;
      this.#onUpsert(item);
    }
    for (const [key, old] of [...this.#store]) if (!seen.has(key)) this.#onDelete(old);
    this.#rv = rv;
  }

  #onUpsert(obj: T): void {
    stripManagedFields(obj);
    this.#opts.prune?.(obj);
    const key = keyOf(obj);
    const old = this.#store.get(key);
    this.#store.set(key, obj);
    if (old) this.#unindex(key, old);
    this.#index(key, obj);
    this.#errors = 0;
    for (const h of this.#handlers) {
      try {
        if (old) h.update?.(obj, old);
        else h.add?.(obj);
      } catch (err) {
        this.#log.error({ err, key }, "Event handler failed");
      }
    }
  }

  #resync(): void {
    for (const [key, obj] of this.#store) {
      for (const h of this.#handlers) {
        try {
          h.update?.(obj, obj);
        } catch (err) {
          this.#log.error({ err, key }, "Event handler failed during resync");
        }
      }
    }
  }

  #onDelete(obj: T): void {
    const key = keyOf(obj);
    // Gone for the watch: a write of ours from before the deletion must not bring it back.
    const write = this.#written.get(key);
    const deletedVersion = versionOf(obj);
    if (write && (deletedVersion === undefined || deletedVersion >= write.resourceVersion)) this.#written.delete(key);
    const old = this.#store.get(key);
    this.#store.delete(key);
    if (old) this.#unindex(key, old);
    for (const h of this.#handlers) {
      try {
        h.delete?.(obj);
      } catch (err) {
        this.#log.error({ err, key }, "Event handler failed");
      }
    }
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    const base = this.#opts.restartBaseMs ?? 1000;
    const max = this.#opts.restartMaxMs ?? 8_000;
    const delay = Math.min(base * 2 ** this.#errors, max) * (1 + 0.2 * Math.random());
    this.#errors++;
    this.#log.warn({ err, delayMs: Math.round(delay) }, "List/watch failed; restarting");
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restarts++;
      void this.#restart();
    }, delay);
  }

  async #restart(): Promise<void> {
    if (this.#stopped) return;
    if (this.#path === undefined) {
      try {
        this.#path = await this.#opts.kube.pathFor({ apiVersion: this.apiVersion, kind: this.kind, namespace: this.#opts.namespace });
      } catch (err) {
        this.#onError(err);
        return;
      }
    }
    await this.#startRun();
  }

  #index(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      let idx = this.#indexes.get(name);
      if (!idx) this.#indexes.set(name, (idx = new Map()));
      for (const v of safeIndex(fn, obj)) {
        let set = idx.get(v);
        if (!set) idx.set(v, (set = new Set()));
        set.add(key);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const idx = this.#indexes.get(name);
      if (!idx) continue;
      for (const v of safeIndex(fn, obj)) {
        const set = idx.get(v);
        set?.delete(key);
        if (set && set.size === 0) idx.delete(v);
      }
    }
  }
}

/**
 * The watch cannot resume from our resourceVersion: 410 Gone (compacted), or a version the
 * server has not reached yet (after an etcd restore); both are cured only by a fresh list.
 */
function isGone(err: unknown): boolean {
  if (err instanceof GoneError) return true;
  return err instanceof ApiError && err.causes.some((c) => c.reason === "ResourceVersionTooLarge");
}

/** A watch ERROR event carries a metav1.Status; map it like an HTTP error of the same code. */
function apiErrorFromEvent(path: string, status: { code?: number }): ApiError {
  return apiErrorFrom("WATCH", path, status.code ?? 500, status);
}

function safeIndex<T>(fn: IndexFunc<T>, obj: T): readonly string[] {
  try {
    return fn(obj);
  } catch {
    return [];
  }
}

/** An object's resourceVersion as a number; undefined when it has none or it is not numeric. */
function versionOf(obj: KubernetesObject): bigint | undefined {
  const rv = obj.metadata?.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/**
 * Whether labels match an equality-based selector ("a=b,c!=d,e,!f"). A set-based selector
 * ("a in (b)") is not read here and counts as no match, so such an informer overlays no writes.
 */
export function matchesLabelSelector(selector: string | undefined, labels: Record<string, string>): boolean {
  if (!selector?.trim()) return true;
  return selector.split(",").every((raw) => {
    const term = raw.trim();
    if (/[()\s]/.test(term)) return false;
    const ne = term.indexOf("!=");
    if (ne > 0) return labels[term.slice(0, ne)] !== term.slice(ne + 2);
    const eq = term.indexOf("=");
    if (eq > 0) return labels[term.slice(0, eq)] === term.slice(term[eq + 1] === "=" ? eq + 2 : eq + 1);
    if (term.startsWith("!")) return !(term.slice(1) in labels);
    return term in labels;
  });
}

/** managedFields are large and never read by controllers; dropping them roughly halves cache memory. */
function stripManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
}

// ---- index functions ----

/** Index by the value of one label (objects without it are not indexed). */
export function labelIndex<T extends KubernetesObject>(label: string): IndexFunc<T> {
  return (o) => {
    const v = o.metadata?.labels?.[label];
    return v === undefined ? [] : [v];
  };
}

/** Index by the uid of the controller owner. */
export function controllerUIDIndex<T extends KubernetesObject>(o: T): readonly string[] {
  const ref = getControllerOf(o);
  return ref ? [ref.uid] : [];
}

// ---- event -> key helpers ----

/** Anything keys can be sent to; a Controller is one. */
export interface KeySink {
  enqueue(key: string): void;
}

/**
 * Calls `mapper` on every event (old and new object on update) and enqueues the keys it returns.
 * `updateMatters` (controller-runtime's update predicate) drops updates the receiving controller
 * does not care about, such as another controller's status writes; adds and deletes always pass.
 */
export function enqueueMapped<T extends KubernetesObject>(
  informer: Informer<T>,
  sink: KeySink,
  mapper: (obj: T) => Iterable<string>,
  updateMatters: UpdatePredicate<T> = () => true,
): void {
  const emit = (obj: T): void => {
    for (const k of mapper(obj)) sink.enqueue(k);
  };
  informer.addHandler({
    add: emit,
    update: (obj, old) => {
      if (!updateMatters(obj, old)) return;
      emit(old);
      emit(obj);
    },
    delete: emit,
  });
}

/** Enqueues the object's own key (controller-runtime's For()); `updateMatters` as in enqueueMapped. */
export function enqueueOwn<T extends KubernetesObject>(informer: Informer<T>, sink: KeySink, updateMatters?: UpdatePredicate<T>): void {
  enqueueMapped(informer, sink, (o) => [keyOf(o)], updateMatters);
}

/**
 * Enqueues the key of the controller owner of each child whose controller reference is of
 * `owner` kind (controller-runtime's Owns()). The owner is assumed to live in the child's namespace.
 * An update reaches both the old and the new owner, so a child moving between owners wakes both.
 */
export function enqueueControllerOwner<T extends KubernetesObject>(
  informer: Informer<T>,
  sink: KeySink,
  owner: { apiVersion: string; kind: string },
  updateMatters?: UpdatePredicate<T>,
): void {
  const group = groupOf(owner.apiVersion);
  enqueueMapped(
    informer,
    sink,
    (o) => {
      const ref = getControllerOf(o);
      // Match on group+kind, not version: an owner stored at another version is still the owner.
      if (!ref || ref.kind !== owner.kind || groupOf(ref.apiVersion) !== group) return [];
      return [makeKey(o.metadata?.namespace, ref.name)];
    },
    updateMatters,
  );
}
