import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import type { Server } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { ExecdTokenSigner } from "../execd-token/index.js";
import { Kube, Manager, type Logger, type ManagerOptions } from "../runtime/index.js";
import { Authenticator } from "./auth.js";
import { createRouterCaches, routerInformers, type RouterCaches } from "./caches.js";
import type { RouterConfig } from "./config.js";
import type { AddressMapper, RouterDeps } from "./deps.js";
import { createRouterMetrics } from "./metrics.js";
import { ReadyWaiter } from "./ready-waiter.js";
import { ScopedTokens } from "./scoped-token.js";
import { createRouterServer } from "./server.js";
import { TtlExtender } from "./ttl.js";
import { ActivityRecorder } from "./activity.js";
import { Waker } from "./wake.js";

export interface RouterOptions {
  kubeConfig: KubeConfig;
  config: RouterConfig;
  logger: Logger;
  /** HMAC key for sandbox tokens (>= 32 bytes). Random when absent: tokens then die with the process. */
  signingKey?: Uint8Array | undefined;
  /**
   * Ed25519 private key the execution servers' tokens are signed with; the operator gives its
   * public half to every sandbox. Random when absent: no sandbox then accepts the router.
   */
  execdSigningKey?: KeyObject | undefined;
  /** Watch one namespace only (tests); default all namespaces. */
  namespace?: string | undefined;
  healthServer?: ManagerOptions["healthServer"];
  registry?: Registry;
  mapAddress?: AddressMapper;
}

export interface BuiltRouter {
  manager: Manager;
  server: Server;
  deps: RouterDeps;
  caches: RouterCaches;
  registry: Registry;
}

/**
 * Wires the router: caches in a runtime Manager (which also serves /healthz, /readyz and
 * /metrics on the health port), and the proxy/management HTTP server (not yet listening).
 */
export function buildRouter(opts: RouterOptions): BuiltRouter {
  const registry = opts.registry ?? new Registry();
  const kube = new Kube(opts.kubeConfig, { fieldManager: "agent-sandbox-ts-router" });
  const caches = createRouterCaches(kube, opts.logger, opts.namespace);
  const metrics = createRouterMetrics(registry);
  const key = opts.signingKey ?? randomBytes(32);
  if (!opts.signingKey) opts.logger.warn("No token signing key given: sandbox tokens are valid only for this router process");
  const scoped = new ScopedTokens(key);
  if (!opts.execdSigningKey)
    opts.logger.warn("No execution-server signing key given: sandboxes will refuse the router's calls (401, answered 502)");
  const execdTokens = new ExecdTokenSigner(opts.execdSigningKey ?? generateKeyPairSync("ed25519").privateKey);
  const deps: RouterDeps = {
    config: opts.config,
    caches,
    kube,
    scoped,
    execdTokens,
    auth: new Authenticator({
      kube,
      scoped,
      logger: opts.logger,
      metrics,
      cacheTtlMs: opts.config.authCacheTtlMs,
      cacheMax: opts.config.authCacheMax,
    }),
    ttl: new TtlExtender({
      kube,
      caches,
      logger: opts.logger,
      metrics,
      writeIntervalMs: opts.config.ttlWriteIntervalSeconds * 1000,
      maxTtlSeconds: opts.config.maxTtlSeconds,
    }),
    activity: new ActivityRecorder({
      kube,
      caches,
      logger: opts.logger,
      metrics,
      writeIntervalMs: opts.config.activityWriteIntervalMs,
    }),
    waker: new Waker({ kube, logger: opts.logger, metrics, now: () => Date.now() }),
    waiter: new ReadyWaiter(caches),
    metrics,
    logger: opts.logger,
    mapAddress: opts.mapAddress,
    now: () => Date.now(),
  };
  const manager = new Manager({
    logger: opts.logger,
    registry,
    ...(opts.healthServer !== undefined ? { healthServer: opts.healthServer } : {}),
  });
  for (const informer of routerInformers(caches)) manager.addInformer(informer);
  manager.onShutdown(() => Promise.all([deps.ttl.flushAll(), deps.activity.flushAll()]).then(() => undefined));
  const server = createRouterServer(deps, { isReady: () => routerInformers(caches).every((i) => i.hasSynced()) });
  return { manager, server, deps, caches, registry };
}
