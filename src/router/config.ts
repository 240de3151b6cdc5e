import { DEFAULT_EXEC_PORT, DEFAULT_TTL_SECONDS } from "../shared/sandbox/defaults.js";

/** Settings of the router process (flags in main.ts; tests build it directly). */
export interface RouterConfig {
  /** Namespace used when a request names none (X-Sandbox-Namespace default, upstream's "default"). */
  defaultNamespace: string;
  /** Port of the execution server when X-Sandbox-Port is absent (upstream runtimes use 8888). */
  execPort: number;
  /** TTL given to sandboxes created through the management API when the request names none. */
  defaultTtlSeconds: number;
  /** Upper bound on any requested TTL (the operator's cap, 14 days by default). */
  maxTtlSeconds: number;
  /** At most one TTL write per claim per this many seconds (executes in between are coalesced). */
  ttlWriteIntervalSeconds: number;
  /** How long POST /v1/sandboxes waits for Ready by default, and the most a caller may ask for. */
  createWaitSeconds: number;
  maxWaitSeconds: number;
  /** Lifetime of the per-sandbox tokens the router signs. */
  scopedTokenTtlSeconds: number;
  /** How long TokenReview and SubjectAccessReview answers are reused. */
  authCacheTtlMs: number;
  authCacheMax: number;
  /** Retry-After sent with 503 for sandboxes that are not Ready. */
  retryAfterSeconds: number;
  /**
   * How long a request for a sandbox the router does not see Ready (or at all) waits for its
   * caches before the 404/503. A client that saw its claim turn Ready through its own watch
   * calls at once, and the router's watch may be a few milliseconds behind: without this wait
   * that first call failed and the client had to retry.
   */
  resolveWaitMs: number;
  /**
   * How long a request for a sandbox that is starting or restarting (its pod being created or
   * recreated, a container restarting) waits for it to serve before the 503; at least
   * resolveWaitMs. A sandbox that will not come back by itself (failed, suspended, being deleted)
   * is answered at once.
   */
  restartWaitMs: number;
  /**
   * How long a call to a suspended sandbox waits while the router resumes it (the call is then
   * sent on); 0 answers such calls 503 at once and leaves the sandbox suspended.
   */
  wakeTimeoutMs: number;
  /** The longest time between two last-activity writes on one sandbox with an idle timeout. */
  activityWriteIntervalMs: number;
  /** A new connection to a pod not established within this long counts as refused; also bounds the check that a pod still accepts connections. */
  connectTimeoutMs: number;
  /**
   * How long a call in flight to a sandbox that turned not Ready runs on while its pod neither
   * accepts nor refuses new connections (a server starved by the code it runs, or frozen). A pod
   * that refuses is given up at once; one that accepts keeps its calls.
   */
  unresponsiveGraceMs: number;
  /** Idle timeout of a proxied request (no bytes either way for this long aborts it). */
  upstreamIdleTimeoutMs: number;
  /** The built web console served at /ui/; undefined turns it off. */
  consoleDir: string | undefined;
}

export const defaultRouterConfig: RouterConfig = {
  defaultNamespace: "default",
  execPort: DEFAULT_EXEC_PORT,
  defaultTtlSeconds: DEFAULT_TTL_SECONDS,
  maxTtlSeconds: 14 * 24 * 3600,
  ttlWriteIntervalSeconds: 30,
  createWaitSeconds: 60,
  maxWaitSeconds: 300,
  scopedTokenTtlSeconds: 3600,
  authCacheTtlMs: 10_000,
  authCacheMax: 10_000,
  retryAfterSeconds: 2,
  resolveWaitMs: 1_000,
  restartWaitMs: 5_000,
  wakeTimeoutMs: 60_000,
  activityWriteIntervalMs: 30_000,
  connectTimeoutMs: 3_000,
  unresponsiveGraceMs: 20_000,
  upstreamIdleTimeoutMs: 600_000,
  consoleDir: undefined,
};
