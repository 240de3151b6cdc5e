/**
 * True when every field `desired` sets has the same value in `actual`. Fields
 * the API server defaults (or other managers own) are ignored, so a reconcile
 * only writes when our intent has drifted: no API call for a no-op pass.
 */
export function containsDesired(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== "object") {
    return actual === desired;
  }
  if (Array.isArray(desired)) {
    // The API server omits empty lists (Go's omitempty), so [] matches an absent field.
    if (desired.length === 0 && actual === undefined) return true;
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((d, i) => containsDesired(actual[i], d))
    );
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => containsDesired(a[k], v));
}
