import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * The process's root logger: newline-delimited JSON on stdout (let the kubelet collect it),
 * level from LOG_LEVEL (default info). Children add {controller}, then {key, reconcileID}.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const raw = (opts.level ?? process.env["LOG_LEVEL"] ?? "info").toLowerCase();
  if (!(LEVELS as readonly string[]).includes(raw)) {
    throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(", ")}, got "${raw}"`);
  }
  return pino({ name: opts.name ?? "agent-sandbox-ts", level: raw });
}

/** A logger that drops everything; the default for library code when no logger is passed. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
