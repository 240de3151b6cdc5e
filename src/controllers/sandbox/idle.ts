// Idle suspension: a sandbox with an idle timeout that no call has reached for that long is
// suspended (its pod goes, its PVCs and Service stay), and the router wakes it on the next call.
import { AnnotationKeys, LabelKeys, SandboxConditionType, SandboxOperatingMode, idleTimeoutOf, type Sandbox } from "../../api/index.js";
import { findCondition, type Condition } from "../../runtime/index.js";

/** What the idle timeout asks of a Sandbox now. */
export type IdleVerdict =
  /** No timeout applies (none set, not running, not Ready, or a warm pool member waiting for a claim). */
  | { kind: "none" }
  /** The annotation cannot be read; the Sandbox is left running. */
  | { kind: "invalid"; message: string }
  /** Idle since `idleSinceMs` for at least the timeout: suspend it. */
  | { kind: "suspend"; idleSinceMs: number; timeoutMs: number }
  /** Not idle long enough: look again at `atMs`. */
  | { kind: "recheck"; atMs: number };

/** What the idle verdict reads of a Sandbox: its status may be the one about to be written. */
export interface IdleSubject {
  metadata: Pick<Sandbox["metadata"], "annotations" | "labels">;
  spec: Pick<Sandbox["spec"], "operatingMode">;
  status?: { conditions?: readonly Condition[] | undefined } | undefined;
}

/**
 * Pure. The idle time counts from the latest of: the last call the router recorded, and the
 * moment the Sandbox last turned Ready (a new or resumed pod starts a fresh count).
 */
export function idleVerdict(sandbox: IdleSubject, nowMs: number): IdleVerdict {
  const timeout = idleTimeoutOf(sandbox.metadata.annotations);
  if (!timeout) return { kind: "none" };
  if (!timeout.ok) return { kind: "invalid", message: timeout.message };
  if (sandbox.spec.operatingMode === SandboxOperatingMode.Suspended) return { kind: "none" };
  if (sandbox.metadata.labels?.[LabelKeys.WarmPoolSandbox] !== undefined) return { kind: "none" };
  const ready = findCondition(sandbox.status?.conditions, SandboxConditionType.Ready);
  if (ready?.status !== "True") return { kind: "none" };
  const lastCall = Date.parse(sandbox.metadata.annotations?.[AnnotationKeys.LastActivity] ?? "");
  const readySince = Date.parse(String(ready.lastTransitionTime ?? ""));
  const idleSinceMs = Math.max(Number.isFinite(lastCall) ? lastCall : 0, Number.isFinite(readySince) ? readySince : 0);
  const deadline = idleSinceMs + timeout.ms;
  if (nowMs >= deadline) return { kind: "suspend", idleSinceMs, timeoutMs: timeout.ms };
  return { kind: "recheck", atMs: deadline };
}

/**
 * The patch that suspends an idle Sandbox, only if it is still the version judged: a call the
 * router recorded meanwhile makes it a conflict.
 */
export function idleSuspendPatch(sandbox: Sandbox, now: Date): object {
  return {
    metadata: {
      uid: sandbox.metadata.uid,
      resourceVersion: sandbox.metadata.resourceVersion,
      annotations: { [AnnotationKeys.IdleSuspendedAt]: now.toISOString() },
    },
    spec: { operatingMode: SandboxOperatingMode.Suspended },
  };
}
