/** Defaults shared by the CLI and the tests that start the server. */
export const DEFAULT_PORT = 8888;
export const DEFAULT_HOST = "0.0.0.0";
/** Vertex AI code execution allows 100 MB of files per request or response. */
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
/**
 * stdout + stderr one call may return. Generous for real programs, small enough that a
 * print loop cannot grow the server (which shares the sandbox's memory) without bound.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Vertex AI code execution times a call out after 300 s. */
export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_INTERRUPT_GRACE_MS = 3_000;

/**
 * JSON bodies carry files base64-encoded, so the JSON limit is the byte limit grown by 4/3
 * plus room for the code, names and escaping.
 */
export function jsonLimit(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4 + 8 * 1024 * 1024;
}

/** Variables that configure the server itself and must not leak into user code. */
export const PRIVATE_ENV = ["EXECD_TOKEN", "EXECD_TOKEN_FILE", "EXECD_UNDER_INIT"];

export function kernelEnvironment(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, MPLBACKEND: "Agg", PYTHONUNBUFFERED: "1" };
  for (const name of PRIVATE_ENV) delete env[name];
  return env;
}
