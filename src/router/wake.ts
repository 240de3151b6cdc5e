// Wake on request: a call to a sandbox the operator suspended for idleness resumes it and is held
// until the sandbox serves, then sent on. However many calls arrive during a wake, the sandbox is
// resumed once. A sandbox someone suspended on purpose stays suspended until they resume it.
import type { ServerResponse } from "node:http";
import { AnnotationKeys, SandboxGVK, SandboxOperatingMode, idleTimeoutOf } from "../api/index.js";
import { InvalidError, isNotFound, type Kube, type Logger } from "../runtime/index.js";
import type { SandboxObject } from "./caches.js";
import { unavailable } from "./errors.js";
import type { RouterMetrics } from "./metrics.js";
import { isSuspended, type Resolution } from "./resolve.js";
import { untilWoken, type WaitDeps, type WaitTarget } from "./target-wait.js";

/** The response header that tells a caller its call resumed a suspended sandbox. */
export const resumedHeader = "x-sandbox-resumed";

/** A resolution of a sandbox the operator suspended because no call reached it for its idle timeout. */
function isIdleSuspended(r: Resolution): r is Extract<Resolution, { kind: "not-ready" }> & { sandbox: SandboxObject } {
  return isSuspended(r) && r.sandbox.metadata.annotations?.[AnnotationKeys.IdleSuspendedAt] !== undefined;
}

/** Resumes suspended Sandboxes, once per Sandbox for all the calls that wait on it. */
export class Waker {
  readonly #kube: Kube;
  readonly #logger: Logger;
  readonly #metrics: Pick<RouterMetrics, "resumes">;
  readonly #now: () => number;
  /** Sandbox uid -> the resume in flight. */
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(o: { kube: Kube; logger: Logger; metrics: Pick<RouterMetrics, "resumes">; now: () => number }) {
    this.#kube = o.kube;
    this.#logger = o.logger;
    this.#metrics = o.metrics;
    this.#now = o.now;
  }

  /**
   * Sets spec.operatingMode Running on this very Sandbox (uid in the patch): the operator then
   * starts a new pod. A Sandbox with an idle timeout starts its idle count afresh.
   */
  resume(sandbox: SandboxObject): Promise<void> {
    const uid = sandbox.metadata.uid ?? "";
    const running = this.#inFlight.get(uid);
    if (running) return running;
    const idle = idleTimeoutOf(sandbox.metadata.annotations) !== undefined;
    const annotations = {
      [AnnotationKeys.IdleSuspendedAt]: null,
      ...(idle ? { [AnnotationKeys.LastActivity]: new Date(this.#now()).toISOString() } : {}),
    };
    this.#metrics.resumes.inc();
    const write = this.#kube
      .patch(
        {
          apiVersion: SandboxGVK.apiVersion,
          kind: SandboxGVK.kind,
          namespace: sandbox.metadata.namespace,
          name: sandbox.metadata.name ?? "",
        },
        { metadata: { uid, annotations }, spec: { operatingMode: SandboxOperatingMode.Running } },
        { type: "merge" },
      )
      .then(() =>
        this.#logger.info(
          { sandbox: `${sandbox.metadata.namespace ?? ""}/${sandbox.metadata.name ?? ""}` },
          "Resuming a suspended sandbox for a call",
        ),
      )
      .finally(() => this.#inFlight.delete(uid));
    this.#inFlight.set(uid, write);
    return write;
  }
}

/** What a wake needs: the waker, the waits, the timeout and a metric. */
export interface WakeDeps extends WaitDeps {
  waker: Waker;
  metrics: Pick<RouterMetrics, "wakes">;
  config: WaitDeps["config"] & { wakeTimeoutMs: number; retryAfterSeconds: number };
}

/**
 * Wakes the sandbox `r` names if the operator suspended it for idleness (and waking is on), and
 * marks the answer with the resumed header once it serves. Returns `r` itself when nothing was
 * woken; the caller authorizes a new resolution again, as after any wait.
 */
export async function wakeIfIdle(deps: WakeDeps, t: WaitTarget, res: ServerResponse, r: Resolution): Promise<Resolution> {
  if (!isIdleSuspended(r) || deps.config.wakeTimeoutMs <= 0) return r;
  const after = await wake(deps, t, res, r);
  if (after.kind === "ready") res.setHeader(resumedHeader, "true");
  return after;
}

/**
 * Resumes the suspended sandbox `r` names and waits, up to wakeTimeoutMs, until it serves.
 * Returns the resolution then; a sandbox that is not serving by the deadline is a 503 that says so.
 */
async function wake(
  deps: WakeDeps,
  t: WaitTarget,
  res: ServerResponse,
  r: Extract<Resolution, { kind: "not-ready" }> & { sandbox: SandboxObject },
): Promise<Resolution> {
  const name = r.sandbox.metadata.name ?? t.id;
  try {
    await deps.waker.resume(r.sandbox);
  } catch (err) {
    deps.metrics.wakes.inc({ result: "error" });
    // Deleted (or replaced: the uid no longer matches) since the caches showed it; the resolution
    // says what is there now.
    if (isNotFound(err) || err instanceof InvalidError) return t.resolve();
    throw err;
  }
  const after = await untilWoken(deps, t, res, deps.config.wakeTimeoutMs);
  if (after.kind === "ready") {
    deps.metrics.wakes.inc({ result: "ready" });
    return after;
  }
  deps.metrics.wakes.inc({ result: "timeout" });
  // Still starting (or still shown suspended): say so. Anything else (failed, expired, gone) is
  // answered as any call to it would be.
  if (after.kind === "not-ready" && (!after.lasting || isSuspended(after))) {
    throw unavailable(
      "waking",
      after.reason,
      `sandbox ${name} was suspended and is resuming, but did not serve within ${deps.config.wakeTimeoutMs / 1000}s; try again`,
      deps.config.retryAfterSeconds,
    );
  }
  return after;
}
