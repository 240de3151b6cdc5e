import type { KeyObject } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import type { OperatorConfig } from "../config/operator-config.js";
import { createClaimController } from "../controllers/sandbox-claim/controller.js";
import { HttpEnvDelivery } from "../controllers/sandbox-claim/env-delivery.js";
import { createSandboxController } from "../controllers/sandbox/controller.js";
import { createTemplateController } from "../controllers/sandbox-template/controller.js";
import { createWarmPoolController } from "../controllers/sandbox-warm-pool/controller.js";
import type { ControllerDeps } from "../controllers/deps.js";
import { ClaimsFirstGate, maxClaimsFirstHoldMs } from "../controllers/shared/claims-first-gate.js";
import { allInformers, createCaches } from "../controllers/shared/caches.js";
import { createOperatorMetrics } from "../controllers/shared/metrics.js";
import { EventRecorder, Kube, Manager, readYourWrites, type Connection, type Logger, type ManagerOptions } from "../runtime/index.js";

export interface OperatorOptions {
  /** The operator process passes a Connection (no client-node at run time); tests may pass a KubeConfig. */
  kubeConfig: KubeConfig | Connection;
  config: OperatorConfig;
  logger: Logger;
  /** Watch one namespace only (tests); default all namespaces. */
  namespace?: string;
  workers?: { sandbox?: number; claim?: number; pool?: number };
  leaderElection?: ManagerOptions["leaderElection"];
  healthServer?: ManagerOptions["healthServer"];
  registry?: Registry;
  /**
   * The operator's environment signing key: with it, claims' env is handed to warm sandboxes'
   * execution servers (config.execdEnvTrustedKeys must hold its public half).
   */
  envSigningKey?: KeyObject | undefined;
}

/** Wires the caches, the four controllers and the runtime into one Manager (not yet started). */
export function buildOperator(opts: OperatorOptions): { manager: Manager; deps: ControllerDeps; registry: Registry } {
  const registry = opts.registry ?? new Registry();
  const kube = new Kube(opts.kubeConfig);
  const caches = createCaches(kube, opts.logger, opts.namespace);
  const claimsFirst = new ClaimsFirstGate();
  const events = new EventRecorder({
    kube,
    reportingController: "agents.x-k8s.io/agent-sandbox-ts",
    logger: opts.logger,
    // Nobody waits on an Event: it goes out once the claims in hand are answered (10 s at most).
    beforeWrite: () => claimsFirst.yield(maxClaimsFirstHoldMs),
  });
  const deps: ControllerDeps = {
    kube: readYourWrites(kube, allInformers(caches)),
    caches,
    config: opts.config,
    events,
    metrics: createOperatorMetrics(registry),
    logger: opts.logger,
    claimsFirst,
    envDelivery: opts.envSigningKey ? new HttpEnvDelivery(opts.envSigningKey) : undefined,
    now: () => new Date(),
  };
  const manager = new Manager({
    logger: opts.logger,
    registry,
    ...(opts.leaderElection ? { leaderElection: opts.leaderElection } : {}),
    ...(opts.healthServer !== undefined ? { healthServer: opts.healthServer } : {}),
  });
  for (const informer of allInformers(caches)) manager.addInformer(informer);
  const workers = opts.workers ?? {};
  manager.addController(createSandboxController(deps, { workers: workers.sandbox ?? 16, registry }));
  const claims = createClaimController(deps, { workers: workers.claim ?? 8, registry });
  claimsFirst.attach(claims.queue);
  manager.addController(claims);
  manager.addController(createWarmPoolController(deps, { workers: workers.pool ?? 2, registry }));
  manager.addController(createTemplateController(deps, { registry }));
  manager.onShutdown(() => events.close());
  return { manager, deps, registry };
}
