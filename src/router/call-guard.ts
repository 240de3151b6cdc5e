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

/** What a guard reads: the Sandbox cache, its events, three settings, and how it tries the pod. */
export interface GuardDeps {
  caches: { sandboxes: CacheReader<SandboxObject> };
  waiter: Pick<ReadyWaiter, "subscribe">;
  config: Pick<RouterConfig, "retryAfterSeconds" | "connectTimeoutMs" | "unresponsiveGraceMs">;
  /** Tries a connection to the pod (default connectOutcome). */
  probe?: (addr: PodAddress, timeoutMs: number) => Promise<ConnectOutcome>;
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
 * refuses connections, or neither accepts nor refuses them for unresponsiveGraceMs: a server
 * starved by the code it runs (a fork bomb being stopped) answers late, not never.
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
  /** When the pod first let a connection attempt time out, while the Sandbox was suspect. */
  let unresponsiveSince: number | undefined;
  const check = (): void => {
    if (stopped || controller.signal.aborted) return;
    const v = verdict();
    if (v.kind === "lost") return fail(v);
    if (v.kind !== "suspect") {
      unresponsiveSince = undefined;
      return;
    }
    if (probing) return;
    probing = true;
    const started = Date.now();
    void (deps.probe ?? connectOutcome)(addr, deps.config.connectTimeoutMs).then((outcome) => {
      probing = false;
      const now = verdict();
      if (outcome === "accepted" || now.kind === "alive") {
        unresponsiveSince = undefined;
        return;
      }
      if (outcome === "refused") return fail(now);
      unresponsiveSince ??= started;
      if (Date.now() - unresponsiveSince >= deps.config.unresponsiveGraceMs) return fail(now);
      // Still suspect and silent: look again (a fresh probe, no sleep: each one waits its timeout).
      check();
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

/** How a TCP connection attempt ended: accepted, refused (nothing listens, or no route), or no answer in time. */
export type ConnectOutcome = "accepted" | "refused" | "timeout";

/** Tries a TCP connection to `addr` and says how it ended within `timeoutMs`. */
export function connectOutcome(addr: PodAddress, timeoutMs: number): Promise<ConnectOutcome> {
  return new Promise<ConnectOutcome>((resolve) => {
    const socket = net.connect({ host: addr.host, port: addr.port });
    const finish = (outcome: ConnectOutcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    socket.once("connect", () => finish("accepted"));
    socket.once("error", () => finish("refused"));
  });
}
