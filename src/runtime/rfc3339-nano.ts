// Timestamps in Go's time.RFC3339Nano layout ("2006-01-02T15:04:05.999999999Z07:00"), which
// upstream writes into annotations its own tooling parses back (time.Parse(time.RFC3339Nano)).
// The layout drops trailing zeros of the fraction, and the dot too when the fraction is zero, so
// a value read back keeps exactly the precision it was written with.

const NS_PER_S = 1_000_000_000n;

/** Formats epoch nanoseconds as RFC 3339 in UTC with Go's RFC3339Nano fraction, e.g. 2026-01-02T03:04:05.6789Z. */
export function formatRFC3339Nano(epochNs: bigint): string {
  let seconds = epochNs / NS_PER_S;
  let fraction = epochNs % NS_PER_S;
  // BigInt division truncates towards zero; instants before 1970 need the floor.
  if (fraction < 0n) {
    fraction += NS_PER_S;
    seconds -= 1n;
  }
  const whole = new Date(Number(seconds) * 1000);
  if (Number.isNaN(whole.getTime())) throw new Error(`formatRFC3339Nano: time out of range: ${epochNs}ns`);
  // toISOString() gives "YYYY-MM-DDTHH:MM:SS.sssZ" for years 0-9999; the fraction is ours.
  const digits = fraction.toString().padStart(9, "0").replace(/0+$/, "");
  return `${whole.toISOString().slice(0, 19)}${digits ? `.${digits}` : ""}Z`;
}

/**
 * Now, in epoch nanoseconds, to the microsecond when the platform allows. Date.now() resolves
 * only milliseconds; performance.timeOrigin + performance.now() resolves finer but follows the
 * monotonic clock from process start, so it parts from the wall clock when the system clock is
 * stepped. The finer reading is taken only while it is within a millisecond of Date.now().
 */
export function wallClockNs(): bigint {
  const coarseMs = Date.now();
  const fineMs = performance.timeOrigin + performance.now();
  const ms = Math.abs(fineMs - coarseMs) < 1 ? fineMs : coarseMs;
  return BigInt(Math.round(ms * 1000)) * 1000n;
}
