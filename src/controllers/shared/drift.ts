/**
 * True when every field `desired` sets has the same value in `actual`. Fields
 * the API server defaults (or other managers own) are ignored, so a reconcile
 * only writes when our intent has drifted: no API call for a no-op pass.
 *
 * `exactPaths` (dot-separated, e.g. "spec.selector") name fields that must
 * match exactly, extra keys included: atomic maps such as a Service selector,
 * where a key someone added changes what the object does.
 */
export function containsDesired(actual: unknown, desired: unknown, exactPaths: readonly string[] = []): boolean {
  return walk(actual, desired, "", new Set(exactPaths));
}

function walk(actual: unknown, desired: unknown, path: string, exact: ReadonlySet<string>): boolean {
  if (exact.has(path)) return deepEqual(actual, desired);
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== "object") return actual === desired;
  if (Array.isArray(desired)) {
    // The API server omits empty lists (Go's omitempty), so [] matches an absent field.
    if (desired.length === 0 && actual === undefined) return true;
    return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => walk(actual[i], d, `${path}[]`, exact));
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => walk(a[k], v, path ? `${path}.${k}` : k, exact));
}

/**
 * Structural equality of `actual` and `desired`. An empty list equals an absent
 * one either way (the API server omits empty lists, and for the lists we compare
 * empty and absent mean the same). An empty map equals an absent one only when
 * `desired` is the one that sets it: the server drops an empty map we send, but
 * never invents one, and an empty selector someone added (a NetworkPolicy peer's
 * `namespaceSelector: {}` means every namespace) is a real change.
 */
function deepEqual(actual: unknown, desired: unknown): boolean {
  const isEmptyList = (v: unknown) => Array.isArray(v) && v.length === 0;
  const isEmptyMap = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  if ((actual === undefined || isEmptyList(actual)) && (desired === undefined || isEmptyList(desired))) return true;
  if (actual === undefined && isEmptyMap(desired)) return true;
  if (actual === null || desired === null || typeof actual !== "object" || typeof desired !== "object") return actual === desired;
  if (Array.isArray(actual) !== Array.isArray(desired)) return false;
  if (Array.isArray(actual) && Array.isArray(desired)) {
    return actual.length === desired.length && actual.every((x, i) => deepEqual(x, desired[i]));
  }
  const a = actual as Record<string, unknown>;
  const d = desired as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(d)]);
  return [...keys].every((k) => deepEqual(a[k], d[k]));
}
