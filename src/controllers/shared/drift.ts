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
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((d, i) => walk(actual[i], d, `${path}[]`, exact))
    );
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => walk(a[k], v, path ? `${path}.${k}` : k, exact));
}

/** Structural equality where an empty list or map equals an absent one. */
function deepEqual(a: unknown, b: unknown): boolean {
  const isEmpty = (v: unknown) =>
    v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  if (isEmpty(a) && isEmpty(b)) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  return [...keys].every((k) => deepEqual(ao[k], bo[k]));
}
