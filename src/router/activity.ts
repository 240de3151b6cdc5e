// Records when calls reach sandboxes that have an idle timeout, so the operator can tell an idle
// sandbox from a busy one. Writes are coalesced: at most one per sandbox per interval, and the
// interval stays under a third of the timeout so a sandbox in use is never judged idle.
import { AnnotationKeys, SandboxGVK, idleTimeoutOf } from "../api/index.js";
import { keyOf, type Kube, type Logger } from "../runtime/index.js";
import type { RouterCaches, SandboxObject } from "./caches.js";
import { CoalescedWrites, type WriteOutcome, type WriteTarget } from "./coalesced-writes.js";
import type { RouterMetrics } from "./metrics.js";

/** What an ActivityRecorder reads, writes and counts. */
export interface ActivityRecorderOptions {
  kube: Kube;
  caches: RouterCaches;
  logger: Logger;
  metrics: RouterMetrics;
  /** The longest time between two writes for one sandbox. */
  writeIntervalMs: number;
  now?: () => number;
}

/** Writes the last-activity annotation of sandboxes with an idle timeout (see the file comment). */
export class ActivityRecorder {
  readonly #o: ActivityRecorderOptions;
  /** Sandbox key -> the time of the latest call, epoch ms. */
  readonly #writes: CoalescedWrites<number>;

  constructor(o: ActivityRecorderOptions) {
    this.#o = o;
    this.#writes = new CoalescedWrites<number>({
      write: (target, at) => this.#write(target, at),
      merge: (held, next) => Math.max(held, next),
      count: (result) => {
        if (result !== "gone") o.metrics.activityWrites.inc({ result });
      },
      logger: o.logger,
      failure: "Could not record a call on the sandbox (its idle time may be overstated)",
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /** Records a call to `sandbox`. Sandboxes without a (valid) idle timeout are not written to. */
  touch(sandbox: SandboxObject): void {
    const timeout = idleTimeoutOf(sandbox.metadata.annotations);
    if (!timeout?.ok || sandbox.metadata.deletionTimestamp) return;
    const now = this.#o.now ? this.#o.now() : Date.now();
    const target = { namespace: sandbox.metadata.namespace ?? "", name: sandbox.metadata.name ?? "" };
    this.#writes.touch(keyOf(sandbox), target, now, Math.min(this.#o.writeIntervalMs, Math.floor(timeout.ms / 3)));
  }

  async #write(target: WriteTarget, at: number): Promise<WriteOutcome> {
    const current = this.#o.caches.sandboxes.get(target.namespace, target.name);
    if (!current || current.metadata.deletionTimestamp) return "gone";
    // Never move it backwards (another replica may have written a later time).
    const recorded = Date.parse(current.metadata.annotations?.[AnnotationKeys.LastActivity] ?? "");
    if (Number.isFinite(recorded) && recorded >= at) return "skipped";
    await this.#o.kube.patch(
      { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: target.namespace, name: target.name },
      { metadata: { annotations: { [AnnotationKeys.LastActivity]: new Date(at).toISOString() } } },
      { type: "merge" },
    );
    return "ok";
  }

  /** Writes outstanding times now (graceful shutdown) and stops accepting touches. */
  flushAll(): Promise<void> {
    return this.#writes.flushAll();
  }
}
