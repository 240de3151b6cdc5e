// A work queue with the client-go contract (k8s.io/client-go/util/workqueue):
//  * Fair: keys are processed in the order they were added.
//  * Stingy: a key is held at most once however often it is added before it is processed.
//  * Never concurrent: a key being processed is not handed out again until done(key).
//  * Re-add while processing: a key added while it is processed is handed out again after done(key).
//  * Shutdown: adds are ignored and waiting get() calls return undefined.
// Delayed adds keep the earliest deadline per key; rate-limited adds use per-key exponential
// backoff (optionally combined with a global token bucket, like client-go's default limiter).

export interface RateLimiter {
  /** Delay in ms before `key` should be retried; counts one more failure for it. */
  when(key: string): number;
  /** Clears the failure history of `key` (call after a successful reconcile). */
  forget(key: string): void;
  /** How many times `key` has been rate-limited since the last forget(). */
  numRequeues(key: string): number;
}

export interface ExponentialBackoffOptions {
  /** First retry delay in ms (default 5). */
  baseMs?: number;
  /** Upper bound in ms (default 300_000 = 5 min). */
  maxMs?: number;
  /** Relative jitter added on top, 0..1 (default 0.1 = up to +10%). Jitter spreads retries of keys that failed together. */
  jitter?: number;
  /** Random source in [0,1), injectable for tests. */
  random?: () => number;
}

/** Per-key `base * 2^failures`, capped at `max`, plus jitter. */
export class ExponentialBackoff implements RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #base: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #random: () => number;

  constructor(opts: ExponentialBackoffOptions = {}) {
    this.#base = opts.baseMs ?? 5;
    this.#max = opts.maxMs ?? 300_000;
    this.#jitter = opts.jitter ?? 0.1;
    this.#random = opts.random ?? Math.random;
    if (!(this.#base > 0) || !(this.#max >= this.#base)) {
      throw new Error(`ExponentialBackoff: need 0 < baseMs <= maxMs, got baseMs=${this.#base} maxMs=${this.#max}`);
    }
    if (!(this.#jitter >= 0 && this.#jitter <= 1)) throw new Error(`ExponentialBackoff: jitter must be in [0,1], got ${this.#jitter}`);
  }

  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2**n overflows to Infinity for large n, which Math.min turns into the cap.
    const delay = Math.min(this.#base * 2 ** n, this.#max);
    return Math.min(delay * (1 + this.#jitter * this.#random()), this.#max);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

export interface TokenBucketOptions {
  /** Sustained rate in tokens per second (client-go default 10). */
  qps: number;
  /** Bucket size (client-go default 100). */
  burst: number;
  now?: () => number;
}

/** Global limiter: bounds the overall retry rate of a queue regardless of key. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.qps > 0) || !(opts.burst >= 1))
      throw new Error(`TokenBucket: need qps > 0 and burst >= 1, got qps=${opts.qps} burst=${opts.burst}`);
    this.#qps = opts.qps;
    this.#burst = opts.burst;
    this.#now = opts.now ?? Date.now;
    this.#tokens = opts.burst;
    this.#last = this.#now();
  }

  /** Reserves one token and returns how long (ms) the caller must wait for it. */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  /** Takes a token if one is available now, without going into debt. */
  tryTake(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Hooks the queue calls so metrics stay outside this file. */
export interface WorkQueueObserver {
  depth?(depth: number): void;
  added?(key: string): void;
  retried?(key: string): void;
}

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  /** Optional global token bucket applied to rate-limited adds (delay = max(per-key, bucket)). */
  bucket?: TokenBucket;
  observer?: WorkQueueObserver;
}

interface Waiting {
  at: number;
  timer: ReturnType<typeof setTimeout>;
}

export class WorkQueue {
  // FIFO of keys ready to be handed out. A key is in #queue at most once.
  #queue: string[] = [];
  #head = 0;
  // Keys that need processing (queued, or re-added while processing).
  readonly #dirty = new Set<string>();
  // Keys handed out by get() and not yet done().
  readonly #processing = new Set<string>();
  readonly #waiting = new Map<string, Waiting>();
  readonly #getters: Array<(key: string | undefined) => void> = [];
  readonly #idleWaiters: Array<() => void> = [];
  readonly #rateLimiter: RateLimiter;
  readonly #bucket: TokenBucket | undefined;
  readonly #observer: WorkQueueObserver;
  #shutdown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.#rateLimiter = opts.rateLimiter ?? new ExponentialBackoff();
    this.#bucket = opts.bucket;
    this.#observer = opts.observer ?? {};
  }

  /** Marks `key` as needing processing. */
  add(key: string): void {
    if (this.#shutdown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#observer.added?.(key);
    // A key being processed is re-queued by done(), never handed out twice at once.
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` after `delayMs`; if a delayed add is already pending, the earlier deadline wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutdown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    // A pending retry must not keep the process alive on its own.
    timer.unref?.();
    this.#waiting.set(key, { at, timer });
  }

  /** Adds `key` after its per-key backoff (and the global bucket, if any). */
  addRateLimited(key: string): void {
    if (this.#shutdown) return;
    let delay = this.#rateLimiter.when(key);
    if (this.#bucket) delay = Math.max(delay, this.#bucket.reserve());
    this.#observer.retried?.(key);
    this.addAfter(key, delay);
  }

  /** Resets the backoff of `key`. Does not remove a pending delayed add. */
  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** Resolves with the next key, or undefined once the queue is shut down. Call done(key) afterwards. */
  get(): Promise<string | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Ends processing of `key`; if it was re-added meanwhile it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutdown) this.#push(key);
    if (this.idle()) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** No key queued or being processed (delayed adds do not count: nothing waits on them yet). */
  idle(): boolean {
    return this.len() === 0 && this.#processing.size === 0;
  }

  /**
   * Resolves once the queue is idle (at once if it is), or when it shuts down. Lets other work
   * give this queue's keys the way without polling it.
   */
  whenIdle(): Promise<void> {
    if (this.idle() || this.#shutdown) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops the queue: adds are ignored, pending delayed adds are dropped and every waiting get()
   * resolves undefined. Queued keys are not drained: reconciles are level-triggered, so the next
   * start (or the next leader) rebuilds the queue from the informer caches.
   */
  shutDown(): void {
    if (this.#shutdown) return;
    this.#shutdown = true;
    for (const w of this.#waiting.values()) clearTimeout(w.timer);
    this.#waiting.clear();
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  get shuttingDown(): boolean {
    return this.#shutdown;
  }

  /** Keys ready to be handed out (excludes in-flight and delayed keys). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  /** Keys currently handed out and not done. */
  processingCount(): number {
    return this.#processing.size;
  }

  /** Keys with a pending delayed add. */
  waitingCount(): number {
    return this.#waiting.size;
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      getter(key);
    } else {
      this.#queue.push(key);
    }
    this.#observer.depth?.(this.len());
  }

  #pop(): string | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head++] as string;
    // Compact occasionally so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#observer.depth?.(this.len());
    return key;
  }
}
