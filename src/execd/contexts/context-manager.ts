import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ExecdError, notFound } from "../http/errors.js";
import type { InterpreterPaths, Language, TaskLimit } from "../kernels/drivers.js";
import { Kernel, type KernelError, type KernelExit, type RunSink } from "../kernels/kernel.js";
import type { ContainmentFailure, GuardedContext, GuardTarget } from "./resource-guard.js";
import { SerialQueue } from "./serial-queue.js";

export interface ContextManagerOptions {
  workspace: string;
  scratchDir: string;
  interpreters: InterpreterPaths;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** How long an interrupt may take before the interpreter is killed instead. */
  interruptGraceMs: number;
  /** Memory each interpreter may use (--kernel-memory); null or absent for no cap. */
  kernelMemoryBytes?: number | null;
  /** Tasks the sandbox may run before an interpreter's forks fail (--max-tasks), with the limiter to preload. */
  taskLimit?: TaskLimit | null;
  /**
   * Set when this server replaces an earlier one in the same pod: the first call on each
   * default context reports it as lost state (its earlier variables are gone).
   */
  restartNotice?: string | null;
}

export interface ContextInfo {
  id: string;
  language: Language;
  state: "starting" | "idle" | "busy" | "stopped";
  queued: number;
  pid: number | null;
  interpreterVersion: string;
  restarts: number;
  lastRestartReason: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface CellOutcome {
  exitCode: number;
  error: KernelError | null;
  /** True when the interpreter had to be (re)started and earlier state is gone. */
  stateLost: boolean;
  restartReason: string | null;
}

interface ExecContext {
  id: string;
  language: Language;
  queue: SerialQueue;
  kernel: Kernel | null;
  starting: Promise<Kernel> | null;
  busy: boolean;
  callSeq: number;
  deleted: boolean;
  restarts: number;
  lastRestartReason: string | null;
  /** Why the interpreter died between calls; reported by the next call. */
  pendingLoss: string | null;
  /** Kernel we killed on purpose, so its exit is not reported as a crash. */
  expectedExit: Kernel | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const DEFAULT_IDS: Record<Language, string> = {
  python: "default",
  javascript: "default-javascript",
  bash: "default-bash",
};

export function defaultContextId(language: Language): string {
  return DEFAULT_IDS[language];
}

/**
 * Owns the execution contexts: one long-lived interpreter each, calls on one context
 * serialised through its queue, different contexts independent of each other.
 */
export class ContextManager implements GuardTarget {
  private readonly contexts = new Map<string, ExecContext>();
  /** Variables set through the environment endpoint, for every context (see setSessionEnv). */
  private sessionEnv: Record<string, string> = {};
  /** Bumped on every setSessionEnv; an interpreter remembers the one it has applied. */
  private sessionEnvVersion = 0;
  private readonly appliedEnvVersion = new WeakMap<Kernel, number>();

  constructor(private readonly options: ContextManagerOptions) {}

  /** Environment for processes running user code (the server's own secrets removed). */
  get kernelEnv(): NodeJS.ProcessEnv {
    return { ...this.options.env, ...this.sessionEnv };
  }

  /**
   * Sets variables every context sees from now on, merged over the earlier ones. Interpreters
   * started later get them in their process environment; a running one (a pre-warmed default
   * context included) has them exported by its next call before that call's code runs, so no
   * call after this returns can miss them. A call's own `env` still wins over them.
   */
  setSessionEnv(env: Record<string, string>): { contexts: number } {
    this.sessionEnv = { ...this.sessionEnv, ...env };
    this.sessionEnvVersion++;
    return { contexts: this.contexts.size };
  }

  list(): ContextInfo[] {
    return [...this.contexts.values()].map((ctx) => this.info(ctx));
  }

  get(id: string): ContextInfo {
    return this.info(this.lookup(id));
  }

  /** Creates a context and starts its interpreter (so a broken interpreter fails here). */
  async create(language: Language, id?: string): Promise<ContextInfo> {
    const contextId = id ?? randomUUID();
    if (this.contexts.has(contextId)) {
      throw new ExecdError(409, "context_exists", `context "${contextId}" already exists`);
    }
    const ctx = this.newContext(contextId, language);
    this.contexts.set(contextId, ctx);
    try {
      await this.ensureKernel(ctx);
    } catch (error) {
      this.contexts.delete(contextId);
      throw error;
    }
    return this.info(ctx);
  }

  /** The context a call runs in; default contexts are created on first use. */
  resolve(contextId: string | undefined, language: Language | undefined): { id: string; language: Language } {
    const id = contextId ?? defaultContextId(language ?? "python");
    const existing = this.contexts.get(id);
    if (existing) {
      if (language && existing.language !== language) {
        throw new ExecdError(409, "context_language_mismatch", `context "${id}" runs ${existing.language}, not ${language}`);
      }
      return { id, language: existing.language };
    }
    const isDefault = Object.values(DEFAULT_IDS).includes(id);
    if (!isDefault) throw notFound(`context "${id}" does not exist; create it with POST /v1/contexts`);
    const defaultLanguage = (Object.keys(DEFAULT_IDS) as Language[]).find((l) => DEFAULT_IDS[l] === id)!;
    if (language && language !== defaultLanguage) {
      throw new ExecdError(409, "context_language_mismatch", `context "${id}" runs ${defaultLanguage}, not ${language}`);
    }
    const ctx = this.newContext(id, defaultLanguage);
    ctx.pendingLoss = this.options.restartNotice ?? null;
    this.contexts.set(id, ctx);
    return { id, language: defaultLanguage };
  }

  /**
   * Starts the default context's interpreter ahead of the first call, so an agent's first
   * execute on a fresh sandbox does not pay the interpreter's start-up (about 0.2 s for
   * Python under gVisor). Queued like a call, so a call arriving meanwhile waits for this
   * start instead of starting a second interpreter.
   */
  async prewarm(language: Language): Promise<void> {
    const { id } = this.resolve(undefined, language);
    await this.enqueue(id, async () => {
      await this.ensureKernel(this.lookup(id));
    });
  }

  /** Runs `task` when every earlier call on the context has finished. */
  enqueue<T>(id: string, task: () => Promise<T>): Promise<T> {
    const ctx = this.lookup(id);
    return ctx.queue.run(async () => {
      if (ctx.deleted) throw notFound(`context "${id}" was deleted`);
      return task();
    });
  }

  /** Runs one cell; must be called from inside `enqueue` for that context. */
  async runCell(id: string, code: string, env: Record<string, string>, timeoutMs: number, sink: RunSink): Promise<CellOutcome> {
    const ctx = this.lookup(id);
    let stateLost = ctx.pendingLoss !== null;
    let restartReason = ctx.pendingLoss;
    ctx.pendingLoss = null;
    const kernel = await this.ensureKernel(ctx);
    const seq = ++ctx.callSeq;
    ctx.busy = true;
    ctx.lastUsedAt = new Date();
    // Written by the timer, the interrupt escalation and the resource guard, read once the
    // call returns: the error name the call reports and why its interpreter was killed.
    const killed: { reason: string | null; name: string | null } = { reason: null, name: null };
    const timer = setTimeout(() => {
      killed.reason = `the call ran past its timeout of ${timeoutMs} ms`;
      killed.name = "TimeoutError";
      void this.killKernel(ctx, kernel, killed.reason);
    }, timeoutMs);
    const stopCall = (reason: string, name: string): Promise<void> => {
      if (ctx.callSeq !== seq || !ctx.busy || ctx.kernel !== kernel) return Promise.resolve();
      killed.reason = reason;
      killed.name = name;
      return this.killKernel(ctx, kernel, reason);
    };
    this.stopRunningCall.set(ctx, stopCall);
    let outcome;
    // Session variables not yet in this interpreter go first, so the call's own env wins.
    const applied = this.appliedEnvVersion.get(kernel) ?? 0;
    const cellEnv = applied < this.sessionEnvVersion ? { ...this.sessionEnv, ...env } : env;
    this.appliedEnvVersion.set(kernel, this.sessionEnvVersion);
    try {
      outcome = await kernel.run(code, cellEnv, sink);
    } finally {
      clearTimeout(timer);
      ctx.busy = false;
      this.stopRunningCall.delete(ctx);
    }
    if (!outcome.exited) return { exitCode: outcome.exitCode, error: outcome.error, stateLost, restartReason };
    const reason = killed.reason ?? describeExit(ctx.language, outcome.exited);
    if (ctx.kernel === kernel) this.forgetKernel(ctx, reason);
    ctx.pendingLoss = null;
    stateLost = true;
    restartReason = reason;
    this.warmUp(ctx);
    const name = killed.name ?? "InterpreterDied";
    return {
      exitCode: name === "TimeoutError" ? 124 : 137,
      error: {
        name,
        message: `${reason}; the interpreter was restarted and the context's state was lost`,
        traceback: "",
      },
      stateLost,
      restartReason,
    };
  }

  /** For each context with a call running: ends that call with an error (name, reason). */
  private readonly stopRunningCall = new Map<ExecContext, (reason: string, name: string) => Promise<void>>();

  /** Contexts whose interpreter is running, with what identifies their processes. */
  guarded(): GuardedContext[] {
    const out: GuardedContext[] = [];
    for (const ctx of this.contexts.values()) {
      if (ctx.kernel?.alive) out.push({ id: ctx.id, owner: ctx.kernel.owner });
    }
    return out;
  }

  /** Ids of the contexts running a call right now. */
  busy(): string[] {
    return [...this.contexts.values()].filter((ctx) => ctx.busy).map((ctx) => ctx.id);
  }

  /**
   * Stops a context's interpreter and every process it started because the sandbox is
   * running out of a resource. A running call fails with `failure`; a context with no call
   * running reports the loss on its next call. Its interpreter is started again.
   */
  async contain(id: string, failure: ContainmentFailure): Promise<void> {
    const ctx = this.contexts.get(id);
    const kernel = ctx?.kernel;
    if (!ctx || !kernel) return;
    const stopCall = this.stopRunningCall.get(ctx);
    if (stopCall) {
      await stopCall(failure.reason, failure.name);
      return;
    }
    await this.killKernel(ctx, kernel, failure.reason);
    ctx.pendingLoss = failure.reason;
    this.warmUp(ctx);
  }

  /** Interrupts the running call; if it does not stop in time the interpreter is killed. */
  interrupt(id: string): { interrupted: boolean } {
    const ctx = this.lookup(id);
    const kernel = ctx.kernel;
    if (!ctx.busy || !kernel) return { interrupted: false };
    const seq = ctx.callSeq;
    kernel.interrupt();
    const grace = this.options.interruptGraceMs;
    setTimeout(() => {
      if (ctx.callSeq === seq && ctx.busy) {
        void this.stopRunningCall.get(ctx)?.(`the call ignored an interrupt for ${grace} ms and was killed`, "InterruptError");
      }
    }, grace).unref();
    return { interrupted: true };
  }

  /** Replaces the interpreter with a fresh one; the context's state is deliberately dropped. */
  async restart(id: string): Promise<ContextInfo> {
    const ctx = this.lookup(id);
    if (ctx.kernel) await this.killKernel(ctx, ctx.kernel, "restart requested");
    ctx.pendingLoss = null;
    await this.ensureKernel(ctx);
    return this.info(ctx);
  }

  async delete(id: string): Promise<void> {
    const ctx = this.lookup(id);
    ctx.deleted = true;
    this.contexts.delete(id);
    if (ctx.kernel) await this.killKernel(ctx, ctx.kernel, "context deleted");
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.contexts.keys()].map((id) => this.delete(id).catch(() => undefined)));
  }

  private lookup(id: string): ExecContext {
    const ctx = this.contexts.get(id);
    if (!ctx) throw notFound(`context "${id}" does not exist`);
    return ctx;
  }

  private newContext(id: string, language: Language): ExecContext {
    return {
      id,
      language,
      queue: new SerialQueue(),
      kernel: null,
      starting: null,
      busy: false,
      callSeq: 0,
      deleted: false,
      restarts: 0,
      lastRestartReason: null,
      pendingLoss: null,
      expectedExit: null,
      createdAt: new Date(),
      lastUsedAt: null,
    };
  }

  private ensureKernel(ctx: ExecContext): Promise<Kernel> {
    if (ctx.kernel?.alive) return Promise.resolve(ctx.kernel);
    if (ctx.starting) return ctx.starting;
    const { workspace, scratchDir, interpreters, logger, kernelMemoryBytes, taskLimit } = this.options;
    const envVersion = this.sessionEnvVersion;
    const starting = Kernel.start({
      language: ctx.language,
      interpreters,
      cwd: workspace,
      scratchDir,
      env: this.kernelEnv,
      memoryCapBytes: kernelMemoryBytes ?? null,
      taskLimit: taskLimit ?? null,
      logger: logger.child({ context: ctx.id, language: ctx.language }),
    })
      .then((kernel) => {
        if (ctx.deleted) {
          void kernel.kill();
          throw notFound(`context "${ctx.id}" was deleted`);
        }
        ctx.kernel = kernel;
        this.appliedEnvVersion.set(kernel, envVersion);
        kernel.onExit((exit) => this.onKernelExit(ctx, kernel, exit));
        logger.info({ context: ctx.id, language: ctx.language, interpreterPid: kernel.pid }, "interpreter started");
        return kernel;
      })
      .catch((error: unknown) => {
        if (error instanceof ExecdError) throw error;
        throw new ExecdError(500, "interpreter_unavailable", (error as Error).message);
      })
      .finally(() => {
        ctx.starting = null;
      });
    ctx.starting = starting;
    return starting;
  }

  /** Starts the replacement interpreter in the background so the next call does not wait. */
  private warmUp(ctx: ExecContext): void {
    if (ctx.deleted) return;
    this.ensureKernel(ctx).catch((error: unknown) =>
      this.options.logger.warn({ context: ctx.id, err: error }, "interpreter restart failed"),
    );
  }

  private async killKernel(ctx: ExecContext, kernel: Kernel, reason: string): Promise<void> {
    ctx.expectedExit = kernel;
    if (ctx.kernel === kernel) this.forgetKernel(ctx, reason);
    await kernel.kill();
  }

  private forgetKernel(ctx: ExecContext, reason: string): void {
    ctx.kernel = null;
    ctx.restarts++;
    ctx.lastRestartReason = reason;
  }

  private onKernelExit(ctx: ExecContext, kernel: Kernel, exit: KernelExit): void {
    if (ctx.expectedExit === kernel || ctx.kernel !== kernel || ctx.busy) return;
    // Died between calls (OOM killer, a background thread calling os._exit, ...).
    const reason = describeExit(ctx.language, exit);
    this.options.logger.warn({ context: ctx.id, ...exit }, "interpreter died while idle");
    this.forgetKernel(ctx, reason);
    ctx.pendingLoss = reason;
    this.warmUp(ctx);
  }

  private info(ctx: ExecContext): ContextInfo {
    return {
      id: ctx.id,
      language: ctx.language,
      state: ctx.busy ? "busy" : ctx.starting ? "starting" : ctx.kernel ? "idle" : "stopped",
      queued: ctx.queue.length,
      pid: ctx.kernel?.pid ?? null,
      interpreterVersion: ctx.kernel?.version ?? "",
      restarts: ctx.restarts,
      lastRestartReason: ctx.lastRestartReason,
      createdAt: ctx.createdAt.toISOString(),
      lastUsedAt: ctx.lastUsedAt?.toISOString() ?? null,
    };
  }
}

function describeExit(language: Language, exit: KernelExit): string {
  if (exit.signal === "SIGKILL") {
    return `the ${language} interpreter was killed by SIGKILL (out of memory or killed externally)`;
  }
  if (exit.signal === "SIGABRT" && language === "javascript") {
    // V8 aborts the process when the heap passes --max-old-space-size (see --kernel-memory).
    return "the javascript interpreter aborted (SIGABRT), as V8 does when it runs out of heap memory";
  }
  if (exit.signal) return `the ${language} interpreter died from signal ${exit.signal}`;
  return `the ${language} interpreter exited with code ${exit.code ?? "unknown"}`;
}
