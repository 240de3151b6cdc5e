// Ends a call in flight as soon as the router's caches show its sandbox gone, instead of waiting
// on the pod's connection: a sandbox killed under gVisor leaves that connection open and silent,
// and the caller used to learn of it only when the connection finally broke.
import net from "node:net";
import type { CacheReader, SandboxObject } from "./caches.js";
import type { RouterConfig } from "./config.js";
import type { PodAddress } from "./deps.js";
import { unavailable } from "./errors.js";
import type { ReadyWaiter } from "./ready-waiter.js";
import { callVerdict, type CallVerdict, type DialledSandbox } from "./target-health.js";

/** What a guard reads: the Sandbox cache, its events, and two settings. */
export interface GuardDeps {
  caches: { sandboxes: CacheReader<SandboxObject> };
  waiter: Pick<ReadyWaiter, "subscribe">;
  config: Pick<RouterConfig, "retryAfterSeconds" | "connectTimeoutMs">;
}

export interface CallGuard {
  /** Aborted, with a 503 RouterError naming the sandbox's status reason, when the call is lost. */
  signal: AbortSignal;
  stop(): void;
}

/**
 * Watches the Sandbox a call went to. A call is given up when the Sandbox is deleted, replaced,
 * failed or suspended, or its pod is gone. A Sandbox that merely turned not Ready (its readiness
 * probe can time out under load while the call runs fine) costs the call only if its pod also
 * stops accepting connections.
 */
export function guardCall(deps: GuardDeps, dialled: DialledSandbox, addr: PodAddress): CallGuard {
  const controller = new AbortController();
  let stopped = false;
  let probing = false;
  const verdict = (): CallVerdict => callVerdict(deps.caches.sandboxes.get(dialled.namespace, dialled.name), dialled);
  const fail = (v: Exclude<CallVerdict, { kind: "alive" }>): void => {
    if (!stopped && !controller.signal.aborted)
      controller.abort(unavailable("sandbox_lost", v.reason, v.message, deps.config.retryAfterSeconds));
  };
  const check = (): void => {
    if (stopped || controller.signal.aborted) return;
    const v = verdict();
    if (v.kind === "lost") return fail(v);
    if (v.kind !== "suspect" || probing) return;
    probing = true;
    void accepts(addr, deps.config.connectTimeoutMs).then((up) => {
      probing = false;
      const now = verdict();
      if (!up && now.kind !== "alive") fail(now);
    });
  };
  const unsubscribe = deps.waiter.subscribe(dialled.namespace, dialled.name, check);
  check();
  return {
    signal: controller.signal,
    stop: () => {
      stopped = true;
      unsubscribe();
    },
  };
}

/** True if something accepts a TCP connection at `addr` within `timeoutMs`. */
export function accepts(addr: PodAddress, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: addr.host, port: addr.port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}
