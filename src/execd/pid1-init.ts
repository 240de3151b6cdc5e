import { accessSync, constants } from "node:fs";

/** Set in the environment of the server once it runs under the init, so it re-executes once. */
export const INIT_ENV = "EXECD_UNDER_INIT";

/**
 * A minimal init for when the server is its container's PID 1: processes orphaned by user
 * code are reparented to PID 1, and node never waits for children it did not spawn, so each
 * would stay a zombie until the pod ends, and enough of them stop any new process. bash
 * waits for every child it has, adopted ones included, each time `wait` returns. TERM and
 * INT are passed on to the server, and the init exits with the server's status.
 */
export const INIT_SCRIPT = [
  "trap 'kill -TERM \"$child\" 2>/dev/null' TERM",
  "trap 'kill -INT \"$child\" 2>/dev/null' INT",
  '"$@" &',
  "child=$!",
  "while :; do",
  '  wait "$child"',
  "  status=$?",
  '  kill -0 "$child" 2>/dev/null || exit "$status"',
  "done",
].join("\n");

/**
 * When this process is PID 1 and not yet under the init, replaces it with bash running the
 * init, which starts the server again as its child. Returns only when nothing was done: not
 * PID 1 or already under the init (undefined), or the init cannot start (the reason; the
 * server then runs as PID 1 without reaping, and says so).
 */
export function execUnderInitIfPid1(shell: string): string | undefined {
  if (process.pid !== 1 || process.env[INIT_ENV]) return undefined;
  const execve = process.execve;
  if (typeof execve !== "function") return "this node has no process.execve";
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  try {
    execve(shellPath(shell), [shell, "-c", INIT_SCRIPT, "sandbox-execd-init", ...argv], { ...process.env, [INIT_ENV]: "1" });
  } catch (error) {
    return `cannot start ${shell}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

/** The value of --shell (or --shell=) among the server's arguments; bash when absent. */
export function shellFromArgs(args: readonly string[]): string {
  let shell = "bash";
  args.forEach((arg, i) => {
    if (arg === "--shell" && args[i + 1] !== undefined) shell = args[i + 1] as string;
    else if (arg.startsWith("--shell=")) shell = arg.slice("--shell=".length);
  });
  return shell;
}

/** execve needs a path; a bare name is looked up on PATH the way a shell would. */
function shellPath(shell: string): string {
  if (shell.includes("/")) return shell;
  for (const dir of (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
    const candidate = `${dir || "."}/${shell}`;
    try {
      // Synchronous on purpose: this runs once, before anything else has started.
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return shell;
}
