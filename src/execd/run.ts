// sandbox-execd's command line and start-up: parses the flags, then starts the contexts, the
// HTTP server and the warm-up. main.ts loads this module once it is sure to stay the process.
import { mkdtemp, readFile, realpath, rm, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { pino } from "pino";
import { ContextManager } from "./contexts/context-manager.js";
import { forkMemoryThreshold, ownsPidNamespace, parseMaxTasks, parseMemoryGuard } from "./contexts/guard-flags.js";
import { ResourceGuard } from "./contexts/resource-guard.js";
import { LANGUAGES, taskLimitLibraryPath, type Language } from "./kernels/drivers.js";
import { parseKernelMemory } from "./kernels/memory-cap.js";
import {
  DEFAULT_HOST,
  DEFAULT_INTERRUPT_GRACE_MS,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  jsonLimit,
  kernelEnvironment,
} from "./config.js";
import { createExecdServer } from "./server.js";
import { onTmpfs, readKernelBootTime, recordBoot, restartNotice } from "./boot-marker.js";
import { warmUpExecutePath, warmUpTokenCheck } from "./warm-up.js";
import { RequestAuth } from "./http/auth.js";
import { decodePublicKey, ENV_TOKEN_SCOPE, ExecdTokenVerifier, parseSandboxIdentity } from "../execd-token/index.js";

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("must be a positive integer");
  return parsed;
}

function parseFlags(argv: string[]): ExecdFlags {
  const program = new Command()
    .name("sandbox-execd")
    .description("In-pod execution server: stateful code contexts, files, upstream-compatible runtime API")
    .option("--port <n>", "TCP port", (v) => (v === "0" ? 0 : positiveInt(v)), DEFAULT_PORT)
    .option("--host <addr>", "address to listen on", DEFAULT_HOST)
    .option("--prewarm <languages>", "comma-separated default contexts to start at boot (python, javascript, bash) or 'none'", "python")
    .option("--workspace <dir>", "working directory for code and files", process.cwd())
    .option("--token <token>", "bearer token required on every endpoint but health (or env EXECD_TOKEN)")
    .option("--token-file <file>", "file holding the bearer token (or env EXECD_TOKEN_FILE)")
    .option(
      "--sandbox <namespace/name/uid>",
      "the Sandbox this server belongs to: calls then need a router-signed token for it (see --trusted-key)",
    )
    .option(
      "--trusted-key <base64>",
      "public key (base64 of its DER SubjectPublicKeyInfo) whose signed tokens are accepted; repeat for several",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--env-trusted-key <base64>",
      "public key whose signed tokens may set the environment of every context (PUT /v1/env) and nothing else; repeat for several",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--max-bytes <n>", "largest file payload per request or response", positiveInt, DEFAULT_MAX_BYTES)
    .option(
      "--max-output-bytes <n>",
      "largest stdout + stderr one call returns (the rest is dropped, with a marker)",
      positiveInt,
      DEFAULT_MAX_OUTPUT_BYTES,
    )
    .option(
      "--kernel-memory <bytes|auto|none>",
      "memory cap per interpreter: address-space rlimit for Python and bash, heap limit for JavaScript; auto = 75% of the container's memory",
      "auto",
    )
    .option(
      "--max-tasks <n|auto|none>",
      "processes and threads the whole sandbox may run; past it, the context that started the most is stopped and its call fails; auto = one per 10 MiB of the container's memory, 32 to 256, when the server owns its PID namespace",
      "auto",
    )
    .option(
      "--memory-guard <bytes|auto|none>",
      "memory the whole sandbox may use; past it, the context holding the most is stopped and its call fails; auto = 85% of the container's memory when the server owns its PID namespace",
      "auto",
    )
    .option("--guard-interval-ms <n>", "how often the sandbox's tasks and memory are read", positiveInt, 100)
    .option("--timeout-ms <n>", "default per-call timeout", positiveInt, DEFAULT_TIMEOUT_MS)
    .option("--python <path>", "Python interpreter for python contexts", "python3")
    .option("--node <path>", "node binary for javascript contexts", process.execPath)
    .option("--shell <path>", "shell for bash contexts and /execute", "bash")
    .option(
      "--boot-marker <file>",
      "file counting this pod's server boots; after a restart the first call on each default context reports its state lost",
    )
    .option(
      "--restart-notice <text>",
      "what the first call on each default context reports as lost state (the operator sets it on a pod that replaces an ended one)",
    )
    .option("--log-level <level>", "pino log level", process.env.LOG_LEVEL ?? "info");

  program.parse(argv, { from: "user" });
  return program.opts<ExecdFlags>();
}

interface ExecdFlags {
  port: number;
  host: string;
  workspace: string;
  token?: string;
  tokenFile?: string;
  sandbox?: string;
  trustedKey: string[];
  envTrustedKey: string[];
  maxBytes: number;
  maxOutputBytes: number;
  kernelMemory: string;
  maxTasks: string;
  memoryGuard: string;
  guardIntervalMs: number;
  timeoutMs: number;
  python: string;
  node: string;
  shell: string;
  logLevel: string;
  prewarm: string;
  bootMarker?: string;
  restartNotice?: string;
}

/**
 * Starts the server with these command-line arguments (without node and the script).
 * `initProblem` says why main.ts could not hand PID 1 to a reaping init, when it tried and failed.
 */
export function runExecd(argv: string[], initProblem?: string): void {
  const opts = parseFlags(argv);
  const logger = pino({ name: "sandbox-execd", level: opts.logLevel });
  if (initProblem) logger.warn(`running as PID 1 without an init (${initProblem}): orphaned processes will not be reaped`);

  async function readToken(): Promise<string | undefined> {
    const inline = opts.token ?? process.env.EXECD_TOKEN;
    if (inline) return inline.trim();
    const file = opts.tokenFile ?? process.env.EXECD_TOKEN_FILE;
    if (!file) return undefined;
    const token = (await readFile(file, "utf8")).trim();
    if (!token) throw new Error(`token file ${file} is empty`);
    return token;
  }

  /** The router-signed tokens this server accepts, if it was told which sandbox it serves. */
  function tokenVerifier(): ExecdTokenVerifier | undefined {
    if (!opts.sandbox) {
      if (opts.trustedKey.length > 0) {
        logger.fatal("--trusted-key needs --sandbox: a signed token is checked against the sandbox it names");
        process.exit(2);
      }
      return undefined;
    }
    try {
      const verifier = new ExecdTokenVerifier(opts.trustedKey.map(decodePublicKey), parseSandboxIdentity(opts.sandbox));
      // Fail closed: a server that knows its sandbox but trusts no key refuses every call.
      if (opts.trustedKey.length === 0)
        logger.error("--sandbox without --trusted-key: every call will be refused (the operator was given no token key)");
      return verifier;
    } catch (error) {
      logger.fatal(`--sandbox/--trusted-key: ${(error as Error).message}`);
      process.exit(2);
    }
  }

  /** The operator-signed tokens that may set the environment; none unless keys were given. */
  function envTokenVerifier(): ExecdTokenVerifier | undefined {
    if (opts.envTrustedKey.length === 0) return undefined;
    if (!opts.sandbox) {
      logger.fatal("--env-trusted-key needs --sandbox: a signed token is checked against the sandbox it names");
      process.exit(2);
    }
    try {
      return new ExecdTokenVerifier(opts.envTrustedKey.map(decodePublicKey), parseSandboxIdentity(opts.sandbox), ENV_TOKEN_SCOPE);
    } catch (error) {
      logger.fatal(`--env-trusted-key: ${(error as Error).message}`);
      process.exit(2);
    }
  }

  function prewarmLanguages(value: string): Language[] {
    if (value === "none" || value === "") return [];
    return value.split(",").map((v) => {
      const language = v.trim() as Language;
      if (!LANGUAGES.includes(language)) {
        logger.fatal(`--prewarm: unknown language "${v}" (use ${LANGUAGES.join(", ")} or none)`);
        process.exit(2);
      }
      return language;
    });
  }

  /** Parses one flag's value; a bad value stops the server with the parser's message. */
  function parsed<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      logger.fatal((error as Error).message);
      process.exit(2);
    }
  }

  async function main(): Promise<void> {
    const kernelMemoryBytes = parsed(() => parseKernelMemory(opts.kernelMemory));
    const maxTasks = parsed(() => parseMaxTasks(opts.maxTasks));
    const memoryGuardBytes = parsed(() => parseMemoryGuard(opts.memoryGuard));
    const forkMemoryBytes = forkMemoryThreshold(memoryGuardBytes);
    const taskLimitLibrary = maxTasks === null ? null : taskLimitLibraryPath();
    if (maxTasks !== null && taskLimitLibrary === null) {
      logger.warn("task_limit.so was not found beside the server: forks are not refused at --max-tasks, only the watchdog applies");
    }
    const token = await readToken();
    const auth = new RequestAuth({ token, verifier: tokenVerifier(), envVerifier: envTokenVerifier() }, (reason) =>
      logger.info({ reason }, "token refused"),
    );
    const boot = opts.bootMarker ? await recordBoot(opts.bootMarker, readKernelBootTime()) : { bootsBefore: 0, kernelRestarted: undefined };
    const { bootsBefore } = boot;
    if (bootsBefore > 0) logger.warn({ bootsBefore }, "restarted: earlier contexts and their state are gone");
    if (opts.restartNotice) logger.warn({ notice: opts.restartNotice }, "this pod replaces an ended one");
    await mkdir(opts.workspace, { recursive: true });
    const workspaceReal = await realpath(opts.workspace);
    // A restart of this pod's server says so first; else how the pod this one replaces ended.
    const lostStateNotice = restartNotice(boot, await onTmpfs(opts.workspace)) ?? (opts.restartNotice || null);
    // Bash cells are written here, outside the workspace, so they never show up as output files.
    const scratchDir = await mkdtemp(path.join(os.tmpdir(), "execd-"));
    const contexts = new ContextManager({
      workspace: workspaceReal,
      scratchDir,
      interpreters: { python: opts.python, node: opts.node, bash: opts.shell },
      env: kernelEnvironment(process.env),
      logger,
      interruptGraceMs: DEFAULT_INTERRUPT_GRACE_MS,
      kernelMemoryBytes,
      taskLimit: maxTasks !== null && taskLimitLibrary !== null ? { maxTasks, library: taskLimitLibrary, forkMemoryBytes } : null,
      restartNotice: lostStateNotice,
    });
    const guard = new ResourceGuard(contexts, {
      maxTasks,
      memoryLimitBytes: memoryGuardBytes,
      forkMemoryBytes,
      intervalMs: opts.guardIntervalMs,
      ownsNamespace: ownsPidNamespace(),
      logger,
    });
    guard.start();
    const server = createExecdServer(
      {
        contexts,
        workspaceReal,
        maxBytes: opts.maxBytes,
        maxOutputBytes: opts.maxOutputBytes,
        maxJsonBytes: jsonLimit(opts.maxBytes),
        scratchDir,
        defaultTimeoutMs: opts.timeoutMs,
        commandTimeoutMs: Number(process.env.SANDBOX_EXEC_TIMEOUT_SECONDS ?? 300) * 1000 || 300_000,
        shell: opts.shell,
        logger,
      },
      auth,
    );
    // Large uploads can take longer than node's default 5 min request timeout on slow links.
    server.requestTimeout = 0;
    // Idle keep-alive sockets stay open longer than clients' own idle timeouts; otherwise a
    // client busy for a few seconds (encoding a 100 MB body) writes its next request onto a
    // socket the server has just closed and gets EPIPE.
    server.keepAliveTimeout = 75_000;
    server.headersTimeout = 80_000;
    server.listen(opts.port, opts.host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : opts.port;
      logger.info(
        {
          port,
          host: opts.host,
          workspace: workspaceReal,
          auth: auth.required,
          signedTokens: Boolean(opts.sandbox),
          kernelMemoryBytes,
          maxTasks,
          forkLimiter: taskLimitLibrary !== null,
          memoryGuardBytes,
          maxOutputBytes: opts.maxOutputBytes,
        },
        "sandbox-execd listening",
      );
    });
    const listening = new Promise<number>((resolve) =>
      server.once("listening", () => {
        const address = server.address();
        resolve(typeof address === "object" && address ? address.port : opts.port);
      }),
    );
    const languages = prewarmLanguages(opts.prewarm);
    const prewarmed = languages.map((language) =>
      contexts.prewarm(language).then(
        () => true,
        (error: unknown) => {
          logger.warn({ err: error, language }, "prewarming the default context failed");
          return false;
        },
      ),
    );
    // Signed tokens arrive only once the sandbox is claimed: their first check should not be cold.
    if (auth.required) {
      void listening
        .then(() => warmUpTokenCheck(logger))
        .catch((error: unknown) => logger.warn({ err: error }, "token check warm-up failed; the first signed call will be slower"));
    }
    // After a restart the first call on each default context must report the lost state, so no
    // warm-up call may take that first call's place.
    if (lostStateNotice === null && languages.length > 0) {
      const local = auth.required ? auth.localToken() : undefined;
      void Promise.all([listening, ...prewarmed])
        .then(([port, ...ok]) =>
          ok.every(Boolean)
            ? warmUpExecutePath({ port: port as number, host: opts.host, token: local?.token, languages, logger })
            : undefined,
        )
        .catch((error: unknown) => logger.warn({ err: error }, "warm-up call failed; the first real call will be slower"))
        .finally(() => local?.revoke());
    }
    const stop = async (signal: string): Promise<void> => {
      logger.info({ signal }, "shutting down");
      server.close();
      server.closeAllConnections();
      guard.stop();
      await contexts.shutdown();
      await rm(scratchDir, { recursive: true, force: true });
      process.exit(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  }

  main().catch((error: unknown) => {
    logger.fatal({ err: error }, "sandbox-execd failed to start");
    process.exit(1);
  });
}
