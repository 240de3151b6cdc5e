import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { driverCommand, taskLimitEnv, type InterpreterPaths, type Language, type TaskLimit } from "./drivers.js";
import { SentinelSplitter } from "./sentinel-splitter.js";
import { CONTEXT_TAG_ENV, type ProcessOwner } from "../contexts/process-table.js";
import { stopProcesses } from "../contexts/stop-processes.js";

export interface RichResult {
  mimeType: string;
  data: string;
}

export interface KernelError {
  name: string;
  message: string;
  traceback: string;
}

export interface RunSink {
  stdout(text: string): void;
  stderr(text: string): void;
  result(result: RichResult): void;
}

export interface KernelExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOutcome {
  exitCode: number;
  error: KernelError | null;
  /** Set when the interpreter died during the call; its state is gone. */
  exited: KernelExit | null;
}

export interface KernelOptions {
  language: Language;
  interpreters: InterpreterPaths;
  cwd: string;
  /** Private directory for bash cell files; never inside the workspace. */
  scratchDir: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  startTimeoutMs?: number;
  /** Memory the interpreter may use (see driverCommand); null for no cap. */
  memoryCapBytes?: number | null;
  /** Tasks the sandbox may run before forks fail (see task_limit.c), and the limiter to preload. */
  taskLimit?: TaskLimit | null;
}

interface DriverMessage {
  type: "ready" | "result" | "stream" | "done";
  name?: string;
  text?: string;
  id?: number;
  version?: string;
  mimeType?: string;
  data?: string;
  exitCode?: number;
  error?: KernelError | null;
  /** In "done": the output pipes the driver wrote the sentinel to (absent: both). */
  sentinels?: string[];
}

type OutputStream = "stdout" | "stderr";

interface ActiveCall {
  id: number;
  sink: RunSink;
  /** Output pipes whose sentinel has not been seen yet (and is still expected). */
  awaiting: Set<OutputStream>;
  done: DriverMessage | null;
  graceTimer: NodeJS.Timeout | null;
  finish: (outcome: RunOutcome) => void;
}

/** How long to wait for output sentinels after "done" (user code may have redirected fd 1). */
const SENTINEL_GRACE_MS = 2000;

/**
 * One long-lived interpreter process (Python, node or bash) and the fd-3 protocol to it.
 * The process leads its own process group so a kill or interrupt reaches the children the
 * user's code started as well.
 */
export class Kernel {
  private nextId = 1;
  private active: ActiveCall | null = null;
  private exitInfo: KernelExit | null = null;
  private readonly exitWaiters: Array<(exit: KernelExit) => void> = [];
  private readonly stdoutSplitter: SentinelSplitter;
  private readonly stderrSplitter: SentinelSplitter;
  /** Stopping what the interpreter left running once it has exited (see markExited). */
  private leftovers: Promise<number> | null = null;
  version = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly channel: Duplex,
    private readonly options: KernelOptions,
    private readonly tag: string,
  ) {
    this.stdoutSplitter = new SentinelSplitter(
      (text) => this.routeOutput("stdout", text),
      () => this.sentinelSeen("stdout"),
    );
    this.stderrSplitter = new SentinelSplitter(
      (text) => this.routeOutput("stderr", text),
      () => this.sentinelSeen("stderr"),
    );
    child.stdout?.on("data", (chunk: Buffer) => this.stdoutSplitter.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.stderrSplitter.push(chunk));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  get language(): Language {
    return this.options.language;
  }

  /** What identifies this interpreter's processes, the ones that left its session included. */
  get owner(): ProcessOwner {
    return { tag: this.tag, leaderPid: this.alive ? (this.child.pid ?? null) : null };
  }

  static async start(options: KernelOptions): Promise<Kernel> {
    const { file, args, env } = driverCommand(options.language, options.interpreters, options.memoryCapBytes ?? null);
    const tag = randomBytes(12).toString("hex");
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: {
        ...options.env,
        ...env,
        ...taskLimitEnv(options.taskLimit ?? null, options.env.LD_PRELOAD),
        [CONTEXT_TAG_ENV]: tag,
      },
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: true,
    });
    const channel = child.stdio[3] as Duplex | null;
    if (!channel) throw new Error("interpreter control channel missing");
    const kernel = new Kernel(child, channel, options, tag);
    await kernel.waitReady(options.startTimeoutMs ?? 30_000, file);
    return kernel;
  }

  private waitReady(timeoutMs: number, file: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let early = "";
      const collect = (chunk: Buffer): void => {
        if (early.length < 4000) early += chunk.toString("utf8");
      };
      this.child.stderr?.on("data", collect);
      const timer = setTimeout(() => {
        this.killGroup("SIGKILL");
        reject(new Error(`${this.options.language} interpreter did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      const lines = readline.createInterface({ input: this.channel });
      let ready = false;
      lines.on("line", (line) => {
        let message: DriverMessage;
        try {
          message = JSON.parse(line) as DriverMessage;
        } catch {
          this.options.logger.warn({ line: line.slice(0, 200) }, "unparseable driver message");
          return;
        }
        if (!ready && message.type === "ready") {
          ready = true;
          this.version = message.version ?? "";
          clearTimeout(timer);
          this.child.stderr?.off("data", collect);
          resolve();
          return;
        }
        this.onMessage(message);
      });
      this.child.once("error", (error) => {
        clearTimeout(timer);
        this.markExited({ code: null, signal: null });
        reject(new Error(`cannot start ${file}: ${error.message}`));
      });
      this.child.once("exit", (code, signal) => {
        // "exit" can come before the pipes are drained; output still in them belongs to the
        // dying call, so wait briefly for "close" (a stray grandchild may hold them open).
        const settle = (): void => {
          this.markExited({ code, signal });
          if (!ready) {
            clearTimeout(timer);
            reject(new Error(`${file} exited during start-up (code ${code}, signal ${signal}): ${early.trim()}`));
          }
        };
        const fallback = setTimeout(settle, 500);
        this.child.once("close", () => {
          clearTimeout(fallback);
          settle();
        });
      });
    });
  }

  /** Runs one cell. Callers serialise calls; a second concurrent call is a programming error. */
  async run(code: string, env: Record<string, string>, sink: RunSink): Promise<RunOutcome> {
    if (this.active) throw new Error("kernel is busy");
    if (this.exitInfo) return { exitCode: -1, error: null, exited: this.exitInfo };
    const id = this.nextId++;
    const sentinel = `\u001eEXECD-${randomBytes(12).toString("hex")}\u001e`;
    let cellFile: string | null = null;
    let request: string;
    if (this.options.language === "bash") {
      cellFile = path.join(this.options.scratchDir, `cell-${process.pid}-${id}.sh`);
      await writeFile(cellFile, bashCell(code, env), { mode: 0o600 });
      request = `${id} ${sentinel} ${cellFile}\n`;
    } else {
      request = `${JSON.stringify({ id, code, env, sentinel })}\n`;
    }
    const outcome = await new Promise<RunOutcome>((finish) => {
      this.active = { id, sink, awaiting: new Set(["stdout", "stderr"]), done: null, graceTimer: null, finish };
      this.stdoutSplitter.expect(sentinel);
      this.stderrSplitter.expect(sentinel);
      this.channel.write(request);
    });
    if (cellFile) await rm(cellFile, { force: true });
    return outcome;
  }

  /** Sends SIGINT to the interpreter's process group (KeyboardInterrupt, vm break, bash trap). */
  interrupt(): void {
    this.killGroup("SIGINT");
  }

  /**
   * Kills the interpreter and everything it started, processes that left its process group
   * or session included; resolves once they are gone.
   */
  async kill(): Promise<KernelExit> {
    const exit = this.exitInfo ?? (await this.killAndWait());
    await this.leftovers;
    return exit;
  }

  private killAndWait(): Promise<KernelExit> {
    const gone = new Promise<KernelExit>((resolve) => this.exitWaiters.push(resolve));
    // Stopped first, so no member of the group forks while the group is being killed.
    this.killGroup("SIGSTOP");
    this.killGroup("SIGKILL");
    return gone;
  }

  onExit(listener: (exit: KernelExit) => void): void {
    if (this.exitInfo) listener(this.exitInfo);
    else this.exitWaiters.push(listener);
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.exitInfo) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group may already be gone; the exit handler records that.
    }
  }

  private routeOutput(stream: "stdout" | "stderr", text: string): void {
    if (this.active) this.active.sink[stream](text);
    else this.options.logger.debug({ stream, bytes: text.length }, "interpreter output outside a call dropped");
  }

  private onMessage(message: DriverMessage): void {
    const call = this.active;
    if (!call || message.id !== call.id) return;
    if (message.type === "stream" && typeof message.text === "string") {
      if (message.name === "stderr") call.sink.stderr(message.text);
      else call.sink.stdout(message.text);
    } else if (message.type === "result" && message.mimeType && typeof message.data === "string") {
      call.sink.result({ mimeType: message.mimeType, data: message.data });
    } else if (message.type === "done") {
      call.done = message;
      if (Array.isArray(message.sentinels)) {
        // The driver found nothing unread on these pipes, so no sentinel follows there: all
        // of their output has already been read, and what the splitter holds back as a
        // possible sentinel start is output too.
        for (const stream of [...call.awaiting]) {
          if (message.sentinels.includes(stream)) continue;
          this.splitter(stream).flush();
          call.awaiting.delete(stream);
        }
      }
      this.maybeFinish();
      if (this.active === call && !call.graceTimer) {
        call.graceTimer = setTimeout(() => this.finishActive(null), SENTINEL_GRACE_MS);
      }
    }
  }

  private splitter(stream: OutputStream): SentinelSplitter {
    return stream === "stdout" ? this.stdoutSplitter : this.stderrSplitter;
  }

  private sentinelSeen(stream: OutputStream): void {
    if (!this.active) return;
    this.active.awaiting.delete(stream);
    this.maybeFinish();
  }

  private maybeFinish(): void {
    const call = this.active;
    if (call?.done && call.awaiting.size === 0) this.finishActive(null);
  }

  private finishActive(exited: KernelExit | null): void {
    const call = this.active;
    if (!call) return;
    for (const stream of call.awaiting) this.splitter(stream).flush();
    if (call.graceTimer) clearTimeout(call.graceTimer);
    this.active = null;
    call.finish({
      exitCode: exited ? -1 : (call.done?.exitCode ?? 0),
      error: exited ? null : (call.done?.error ?? null),
      exited,
    });
  }

  private markExited(exit: KernelExit): void {
    if (this.exitInfo) return;
    this.exitInfo = exit;
    // Whatever the interpreter started and left behind (a setsid'd server, a double-forked
    // daemon, the rest of a fork bomb) goes with it: a context's processes end with it.
    this.leftovers = stopProcesses({ tag: this.tag, leaderPid: null }).then(
      (count) => {
        if (count > 0) this.options.logger.info({ count }, "stopped processes the interpreter left running");
        return count;
      },
      (error: unknown) => {
        this.options.logger.warn({ err: error }, "could not stop the processes the interpreter left running");
        return 0;
      },
    );
    // Output still in the pipes belongs to the dying call; give it to the caller first.
    this.finishActive(exit);
    for (const waiter of this.exitWaiters.splice(0)) waiter(exit);
  }
}

/** Single-quotes a value for bash. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function bashCell(code: string, env: Record<string, string>): string {
  const exports = Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`);
  return `${exports.join("")}${code}\n`;
}
