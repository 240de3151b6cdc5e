// The idle-timeout annotation's value: how long a sandbox may go without a call before it is
// suspended. Read by the operator (to suspend) and the router (to pace its activity writes).
import { AnnotationKeys } from "./labels.js";

/** The shortest idle timeout accepted: below it the router's activity writes could not keep up. */
export const minIdleTimeoutMs = 1_000;

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A parsed idle timeout, or why the value is not one. */
export type IdleTimeout = { ok: true; ms: number } | { ok: false; message: string };

/**
 * Parses a duration such as "90s", "15m", "1h30m" or "500ms" (Go's time.ParseDuration units from
 * ms to h), or a bare number of seconds. Pure.
 */
export function parseIdleTimeout(value: string): IdleTimeout {
  const text = value.trim();
  const bad = (why: string): IdleTimeout => ({
    ok: false,
    message: `${AnnotationKeys.IdleTimeout} "${value}" ${why}; use a duration such as 90s, 15m or 1h30m`,
  });
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1_000;
  } else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return bad("is not a duration");
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * (unitMs[p[2] ?? ""] ?? Number.NaN), 0);
  }
  if (!Number.isFinite(ms)) return bad("is not a duration");
  if (ms < minIdleTimeoutMs) return bad(`is shorter than ${minIdleTimeoutMs / 1000}s`);
  return { ok: true, ms: Math.round(ms) };
}

/** The idle timeout an object's annotations set: undefined when none is set. */
export function idleTimeoutOf(annotations: Readonly<Record<string, string>> | undefined): IdleTimeout | undefined {
  const value = annotations?.[AnnotationKeys.IdleTimeout];
  return value === undefined ? undefined : parseIdleTimeout(value);
}
