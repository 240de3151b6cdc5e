// metav1.MicroTime: RFC 3339 with exactly six fractional digits in UTC, which the API server
// requires for Event.eventTime, Event.series.lastObservedTime and Lease acquire/renew times.
// JavaScript clocks have millisecond resolution, so the last three digits are zeros.

/** Formats `t` (epoch ms or a Date; default now) as a MicroTime string, e.g. 2026-01-02T03:04:05.678000Z. */
export function microTime(t: number | Date = Date.now()): string {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`microTime: invalid time ${String(t)}`);
  // toISOString() always ends in ".sssZ" for years 0-9999.
  return `${d.toISOString().slice(0, -1)}000Z`;
}
