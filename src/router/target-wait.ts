// How long a call waits for its sandbox before it is answered, decided from the router's caches:
// not at all for a sandbox that will not serve again by itself, briefly for one that is starting
// or restarting, and once more after the pod refused a connection the caches did not foresee.
import type { ServerResponse } from "node:http";
import type { CacheReader, SandboxObject } from "./caches.js";
import type { RouterConfig } from "./config.js";
import type { ReadyWaiter } from "./ready-waiter.js";
import { isSuspended, type Resolution } from "./resolve.js";
import { callVerdict, type DialledSandbox } from "./target-health.js";

/** What the waits read: the Sandbox cache, the waiter, and the wait settings. */
export interface WaitDeps {
  caches: { sandboxes: CacheReader<SandboxObject> };
  waiter: Pick<ReadyWaiter, "waitFor">;
  config: Pick<RouterConfig, "resolveWaitMs" | "restartWaitMs">;
}

/** The target to resolve again after each cache event, and where to listen for those events. */
export interface WaitTarget {
  namespace: string;
  /** The requested Sandbox or claim name. */
  id: string;
  resolve: () => Resolution;
}

/** True once waiting cannot change the answer. */
function final(r: Resolution): boolean {
  return r.kind === "ready" || r.kind === "expired" || (r.kind === "not-ready" && r.lasting);
}

/**
 * Waits (on informer events) while `r` may still turn Ready: up to resolveWaitMs for a name the
 * caches do not know yet (a client may see its claim Ready through its own watch a moment before
 * the router does), and up to max(resolveWaitMs, restartWaitMs) for a sandbox that is starting or
 * restarting. Stops early when the sandbox turns Ready, expires, fails or disappears. Returns the
 * resolution at the end of the wait either way.
 */
export async function untilServing(deps: WaitDeps, t: WaitTarget, res: ServerResponse, r: Resolution): Promise<Resolution> {
  if (final(r)) return r;
  const budgetMs = r.kind === "not-found" ? deps.config.resolveWaitMs : Math.max(deps.config.resolveWaitMs, deps.config.restartWaitMs);
  const wasThere = r.kind !== "not-found";
  return resolveAfter(deps, t, res, (now) => final(now) || (wasThere && now.kind === "not-found"), budgetMs);
}

/**
 * Waits, up to `timeoutMs`, for a sandbox being resumed to serve. The caches show it suspended
 * until the resume's watch event arrives, so a suspended answer is waited through; any other
 * final answer (Ready, failed, expired, gone) ends the wait.
 */
export async function untilWoken(deps: WaitDeps, t: WaitTarget, res: ServerResponse, timeoutMs: number): Promise<Resolution> {
  return resolveAfter(deps, t, res, (now) => now.kind === "not-found" || (final(now) && !isSuspended(now)), timeoutMs);
}

/** Waits on the target's cache events until `done` holds for its resolution (or the time is up); returns the resolution then. */
async function resolveAfter(
  deps: WaitDeps,
  t: WaitTarget,
  res: ServerResponse,
  done: (r: Resolution) => boolean,
  timeoutMs: number,
): Promise<Resolution> {
  await waitOn(deps, t.namespace, t.id, () => done(t.resolve()), timeoutMs, res);
  return t.resolve();
}

/**
 * After the pod refused (or did not answer) a connection: gives the caches resolveWaitMs to show
 * the sandbox not serving at that address, then waits for it as untilServing does. Undefined if
 * the caches still show the sandbox Ready where it was dialled (the refusal then stands).
 */
export async function afterRefusal(
  deps: WaitDeps,
  t: WaitTarget,
  res: ServerResponse,
  dialled: DialledSandbox,
): Promise<Resolution | undefined> {
  const moved = (): boolean => callVerdict(deps.caches.sandboxes.get(dialled.namespace, dialled.name), dialled).kind !== "alive";
  if (!(await waitOn(deps, dialled.namespace, dialled.name, moved, deps.config.resolveWaitMs, res))) return undefined;
  return untilServing(deps, t, res, t.resolve());
}

/** waitFor on the waiter, given up when the client goes away. */
async function waitOn(
  deps: WaitDeps,
  namespace: string,
  name: string,
  check: () => boolean,
  timeoutMs: number,
  res: ServerResponse,
): Promise<boolean> {
  if (timeoutMs <= 0) return check();
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  res.once("close", onClose);
  try {
    return await deps.waiter.waitFor(namespace, name, check, timeoutMs, gone.signal);
  } finally {
    res.off("close", onClose);
  }
}
