import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KERNEL_MEMORY_ENV, nodeHeapMegabytes } from "./memory-cap.js";

export const LANGUAGES = ["python", "javascript", "bash"] as const;
export type Language = (typeof LANGUAGES)[number];

const DRIVER_FILES: Record<Language, string> = {
  python: "python_driver.py",
  javascript: "js_driver.mjs",
  bash: "bash_driver.sh",
};

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Finds a driver script. Run from source (tsx) the drivers sit next to this module, and the
 * bundled server (the one the images run) has them beside the bundle; after `tsc` builds
 * dist/ they are not copied (tsc only emits .ts), so the package's src/ copy is used:
 * dist/execd/kernels -> ../../../src/execd/kernels.
 */
export function driverPath(language: Language): string {
  const file = DRIVER_FILES[language];
  const candidates = [path.join(here, file), path.resolve(here, "../../../src/execd/kernels", file)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`driver ${file} not found (looked in ${candidates.join(", ")})`);
  return found;
}

/** File name of the fork limiter (task_limit.c), built beside the bundled server. */
const TASK_LIMIT_LIBRARY = "task_limit.so";

/** Variable the fork limiter reads its limit from. */
export const MAX_TASKS_ENV = "EXECD_MAX_TASKS";
/** Sandbox memory use (bytes) at which task_limit.c refuses new processes. */
export const FORK_MEMORY_ENV = "EXECD_FORK_MEMORY_BYTES";

/**
 * Finds the compiled fork limiter: beside the bundled server in the images, or in the
 * checkout's dist/execd-bundle when run from source (`npm run build` compiles it there).
 * Null when it was never built.
 */
export function taskLimitLibraryPath(): string | null {
  const candidates = [path.join(here, TASK_LIMIT_LIBRARY), path.resolve(here, "../../../dist/execd-bundle", TASK_LIMIT_LIBRARY)];
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}

/** The limits task_limit.c enforces in every process an interpreter starts. */
export interface TaskLimit {
  maxTasks: number;
  library: string;
  /** Sandbox memory use at which new processes are refused too; null for no such bound. */
  forkMemoryBytes: number | null;
}

/**
 * Environment that makes an interpreter and everything it starts refuse to fork past
 * `maxTasks` tasks in the sandbox, or while the sandbox uses `forkMemoryBytes` of memory (see
 * task_limit.c); empty without a limit.
 */
export function taskLimitEnv(limit: TaskLimit | null, inherited: string | undefined): Record<string, string> {
  if (limit === null) return {};
  return {
    LD_PRELOAD: inherited ? `${limit.library}:${inherited}` : limit.library,
    [MAX_TASKS_ENV]: String(limit.maxTasks),
    ...(limit.forkMemoryBytes !== null ? { [FORK_MEMORY_ENV]: String(limit.forkMemoryBytes) } : {}),
  };
}

export interface InterpreterPaths {
  python: string;
  node: string;
  bash: string;
}

/**
 * The argv that starts the long-lived interpreter for a language. With a memory cap, Python
 * and bash set it as their address-space rlimit (soft and hard, so user code cannot lift it;
 * child processes inherit it) from KERNEL_MEMORY_ENV; node gets a V8 heap limit instead.
 */
export function driverCommand(
  language: Language,
  interpreters: InterpreterPaths,
  memoryCapBytes: number | null = null,
): { file: string; args: string[]; env: Record<string, string> } {
  const script = driverPath(language);
  const env: Record<string, string> =
    memoryCapBytes !== null && language !== "javascript" ? { [KERNEL_MEMORY_ENV]: String(memoryCapBytes) } : {};
  switch (language) {
    case "python":
      // -u: unbuffered, so prints stream as they happen rather than at the end of the call.
      return { file: interpreters.python, args: ["-u", script], env };
    case "javascript": {
      const heap = memoryCapBytes !== null ? [`--max-old-space-size=${nodeHeapMegabytes(memoryCapBytes)}`] : [];
      return { file: interpreters.node, args: [...heap, script], env };
    }
    case "bash":
      return { file: interpreters.bash, args: ["--noprofile", "--norc", script], env };
  }
}
