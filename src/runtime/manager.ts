// The manager wires informers, controllers, leader election, a health/metrics HTTP server and
// graceful shutdown (controller-runtime's manager, reduced to what this operator needs).
//
// Lifecycle:
//  start(): serve /healthz /readyz /metrics -> start the informers and, at the same time, campaign
//           for the Lease (a standby keeps its caches warm, as controller-runtime's does, so a
//           takeover starts work without a full re-list) -> on leadership wait until every cache
//           synced, then start the controllers' workers.
//  stop():  not ready at once -> stop informers and queues -> drain in-flight reconciles within
//           shutdownTimeoutMs -> shutdown hooks -> release the Lease (only now that no guarded work
//           runs) -> close the server. start() then resolves.
//  Lease lost: skip the drain (another replica may already lead), abort everything and make
//           start() reject with LeaderElectionLostError; runMain() turns that into exit code 1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Controller } from "./controller.js";
import type { Informer } from "./informer.js";
import { LeaderElector, type LeaderElectionOptions } from "./leader.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { defaultRegistry } from "./metrics.js";

export class LeaderElectionLostError extends Error {
  constructor() {
    super("leader election lost");
    this.name = "LeaderElectionLostError";
  }
}

export interface ManagerOptions {
  logger?: Logger;
  registry?: Registry;
  /** Omit to run without leader election (single replica, tests). */
  leaderElection?: Omit<LeaderElectionOptions, "onStartedLeading" | "onStoppedLeading" | "logger" | "registry">;
  /** Where /healthz, /readyz and /metrics are served; port 0 picks a free port; false disables. Default 0.0.0.0:8081. */
  healthServer?: { host?: string; port: number } | false;
  /** Deadline for draining in-flight reconciles; keep it below terminationGracePeriodSeconds. Default 20_000. */
  shutdownTimeoutMs?: number;
  /** Default 120_000, as controller-runtime's CacheSyncTimeout. */
  cacheSyncTimeoutMs?: number;
}

type AnyInformer = Informer<KubernetesObject>;

export class Manager {
  readonly #o: ManagerOptions;
  readonly #log: Logger;
  readonly #registry: Registry;
  readonly #informers: AnyInformer[] = [];
  readonly #controllers: Controller[] = [];
  readonly #hooks: Array<() => Promise<void> | void> = [];
  #elector: LeaderElector | undefined;
  #server: Server | undefined;
  #synced = false;
  #stopping = false;
  #started = false;
  #workersStarted = false;
  #settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #stopPromise: Promise<void> | undefined;
  #caches: Promise<void> | undefined;

  constructor(opts: ManagerOptions = {}) {
    this.#o = opts;
    this.#log = (opts.logger ?? silentLogger()).child({ component: "manager" });
    this.#registry = opts.registry ?? defaultRegistry;
  }

  addInformer<T extends KubernetesObject>(informer: Informer<T>): Informer<T> {
    if (this.#started) throw new Error("manager: addInformer after start");
    this.#informers.push(informer as unknown as AnyInformer);
    return informer;
  }

  addController(controller: Controller): Controller {
    if (this.#started) throw new Error("manager: addController after start");
    if (this.#controllers.some((c) => c.name === controller.name))
      throw new Error(`manager: duplicate controller name "${controller.name}"`);
    this.#controllers.push(controller);
    return controller;
  }

  /** Runs during graceful shutdown after the workers drained (e.g. flush the event recorder). */
  onShutdown(fn: () => Promise<void> | void): void {
    this.#hooks.push(fn);
  }

  get elector(): LeaderElector | undefined {
    return this.#elector;
  }

  /** Ready = not stopping, leadership state known, and (if leading or not electing) caches synced. */
  isReady(): boolean {
    if (this.#stopping || !this.#started) return false;
    const e = this.#elector;
    if (!e) return this.#synced;
    if (!e.stateKnown()) return false;
    return e.isLeader() ? this.#synced : true;
  }

  /** Live unless the lease renewal is overdue while leading. */
  isHealthy(): boolean {
    return !(this.#elector?.renewOverdue(2_000) ?? false);
  }

  /** Address of the health server once start() has begun listening. */
  address(): AddressInfo | undefined {
    const a = this.#server?.address();
    return a && typeof a === "object" ? a : undefined;
  }

  /** Resolves after a graceful stop(); rejects if the lease is lost or caches fail to sync. */
  start(): Promise<void> {
    if (this.#started) throw new Error("manager: already started");
    this.#started = true;
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
      void this.#run().catch((err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))));
    });
  }

  /** Resolves once the HTTP server listens (tests use it to learn the port). */
  async listening(): Promise<AddressInfo | undefined> {
    for (let i = 0; i < 200 && this.#o.healthServer !== false && !this.address(); i++) await new Promise((r) => setTimeout(r, 25));
    return this.address();
  }

  async #run(): Promise<void> {
    if (this.#o.healthServer !== false) await this.#listen();
    const le = this.#o.leaderElection;
    if (!le) {
      await this.#startLeading();
      return;
    }
    // Caches fill while this replica campaigns; events seen before leadership wait in the
    // controllers' queues (one entry per key), to be worked once this replica leads.
    this.#startCaches().catch((err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))));
    this.#elector = new LeaderElector({
      ...le,
      logger: this.#o.logger ?? silentLogger(),
      registry: this.#registry,
      onStartedLeading: (signal) => {
        // Leadership can end between two callbacks (a frozen process waking up): no reconcile
        // may start after that, so the queues shut at once rather than when #lost() gets a turn.
        signal.addEventListener(
          "abort",
          () => {
            if (!this.#stopping) for (const c of this.#controllers) void c.stop(0);
          },
          { once: true },
        );
        this.#startLeading().catch((err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))));
      },
    });
    const outcome = await this.#elector.run();
    if (outcome === "lost") await this.#lost();
  }

  /** Starts the informers once and resolves when every cache has synced. */
  #startCaches(): Promise<void> {
    this.#caches ??= (async () => {
      this.#log.info({ informers: this.#informers.length }, "Starting informers");
      await Promise.all(this.#informers.map((i) => i.start()));
      const timeoutMs = this.#o.cacheSyncTimeoutMs ?? 120_000;
      await Promise.all(this.#informers.map((i) => i.waitForSync({ timeoutMs })));
    })();
    return this.#caches;
  }

  async #startLeading(): Promise<void> {
    if (this.#stopping) return;
    await this.#startCaches();
    if (this.#stopping) return;
    this.#synced = true;
    this.#workersStarted = true;
    this.#log.info({ controllers: this.#controllers.map((c) => c.name) }, "Caches synced; starting controllers");
    for (const c of this.#controllers) void c.start();
  }

  /** Graceful shutdown; idempotent. */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#gracefulStop();
    return this.#stopPromise;
  }

  async #gracefulStop(): Promise<void> {
    this.#stopping = true;
    const deadline = this.#o.shutdownTimeoutMs ?? 20_000;
    this.#log.info({ deadlineMs: deadline }, "Shutting down");
    await Promise.all(this.#informers.map((i) => i.stop()));
    const drained = await Promise.all(this.#controllers.map((c) => c.stop(deadline)));
    if (drained.some((d) => !d)) this.#log.warn("Some reconciles did not finish before the shutdown deadline");
    for (const h of this.#hooks) {
      try {
        await h();
      } catch (err) {
        this.#log.warn({ err }, "Shutdown hook failed");
      }
    }
    // Release only now: no reconcile guarded by the lease is running any more.
    await this.#elector?.stop({ release: this.#workersStarted || (this.#elector?.isLeader() ?? false) });
    await this.#closeServer();
    this.#log.info("Shutdown complete");
    this.#settle?.resolve();
  }

  async #lost(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.error("Lost the leader lease; stopping without drain");
    await Promise.all(this.#informers.map((i) => i.stop()));
    await Promise.all(this.#controllers.map((c) => c.stop(0)));
    await this.#closeServer();
    this.#settle?.reject(new LeaderElectionLostError());
  }

  async #fail(err: Error): Promise<void> {
    if (this.#stopping) {
      // A shutdown already in progress (e.g. informers stopped mid-sync) owns the outcome.
      this.#log.debug({ err }, "Ignoring error during shutdown");
      return;
    }
    this.#log.error({ err }, "Manager failed");
    this.#stopping = true;
    await Promise.all(this.#informers.map((i) => i.stop().catch(() => undefined)));
    await Promise.all(this.#controllers.map((c) => c.stop(0)));
    await this.#elector?.stop({ release: false });
    await this.#closeServer();
    this.#settle?.reject(err);
  }

  #listen(): Promise<void> {
    const cfg = this.#o.healthServer || { port: 8081 };
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error({ err }, "Health server request failed");
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(cfg.port, cfg.host ?? "0.0.0.0", () => {
        server.off("error", reject);
        this.#log.info({ address: server.address() }, "Serving /healthz, /readyz and /metrics");
        resolve();
      });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    switch (path) {
      case "/healthz":
      case "/livez": {
        const ok = this.isHealthy();
        res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain" }).end(ok ? "ok" : "lease renewal overdue");
        return;
      }
      case "/readyz": {
        const ok = this.isReady();
        res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok" : "not ready");
        return;
      }
      case "/metrics": {
        const body = await this.#registry.metrics();
        res.writeHead(200, { "Content-Type": this.#registry.contentType }).end(body);
        return;
      }
      default:
        res.writeHead(404).end();
    }
  }

  #closeServer(): Promise<void> {
    const s = this.#server;
    if (!s) return Promise.resolve();
    this.#server = undefined;
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

/**
 * Runs a manager as the process's main: first SIGTERM/SIGINT stops gracefully, a second exits at
 * once; lost lease or failure exits 1; uncaught errors are logged and exit 1 (let the kubelet
 * restart us rather than run in an unknown state).
 */
export async function runMain(mgr: Manager, log: Logger): Promise<never> {
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, "Second signal; exiting immediately");
      process.exit(1);
    }
    log.info({ signal: sig }, "Signal received; shutting down gracefully");
    void mgr.stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("unhandledRejection", (err) => {
    log.fatal({ err }, "Unhandled promise rejection");
    process.exit(1);
  });
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "Uncaught exception");
    process.exit(1);
  });
  try {
    await mgr.start();
    log.flush();
    process.exit(0);
  } catch (err) {
    log.fatal({ err }, "Manager stopped with an error");
    log.flush();
    process.exit(1);
  }
}
