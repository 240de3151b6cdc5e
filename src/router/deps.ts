import type { ExecdTokenSigner } from "../execd-token/index.js";
import type { Kube, Logger } from "../runtime/index.js";
import type { Authenticator } from "./auth.js";
import type { RouterCaches } from "./caches.js";
import type { RouterConfig } from "./config.js";
import type { RouterMetrics } from "./metrics.js";
import type { ReadyWaiter } from "./ready-waiter.js";
import type { ScopedTokens } from "./scoped-token.js";
import type { TtlExtender } from "./ttl.js";
import type { ActivityRecorder } from "./activity.js";
import type { Waker } from "./wake.js";

/** Where a pod address is dialled. */
export interface PodAddress {
  host: string;
  port: number;
}

/**
 * Maps a resolved pod address to the address actually dialled. In a cluster it is the
 * identity. The integration tier has no pod network (kwok pods get made-up IPs), so its tests
 * map each pod IP to a real sandbox-execd process on 127.0.0.1; the e2e tier dials real pods.
 */
export type AddressMapper = (target: {
  namespace: string;
  sandboxName: string;
  podIP: string;
  port: number;
}) => PodAddress | Promise<PodAddress>;

export interface RouterDeps {
  config: RouterConfig;
  caches: RouterCaches;
  kube: Kube;
  auth: Authenticator;
  scoped: ScopedTokens;
  /** Signs the per-sandbox tokens the execution servers accept. */
  execdTokens: ExecdTokenSigner;
  ttl: TtlExtender;
  /** Records calls on sandboxes with an idle timeout. */
  activity: ActivityRecorder;
  /** Resumes suspended sandboxes for the calls that reach them. */
  waker: Waker;
  waiter: ReadyWaiter;
  metrics: RouterMetrics;
  logger: Logger;
  mapAddress?: AddressMapper | undefined;
  now: () => number;
}
