/**
 * FNV-1a 32-bit hash of a name as 8 lowercase hex digits. Upstream agent-sandbox
 * labels pods and pool members with this hash (label values are limited to 63
 * characters; object names are not), so we compute it the same way to stay
 * compatible with selectors that existing clients build.
 */
export function nameHash(name: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
