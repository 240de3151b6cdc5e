import { UsageError } from "./exit-codes.js";

/** `sbx-123:data/out.csv` -> { id, path }; local paths (./x, /x, x) -> undefined. */
export function parseRemote(spec: string): { id: string; path: string } | undefined {
  const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?):(.*)$/.exec(spec);
  if (!m?.[1]) return undefined;
  if (!m[3]) throw new UsageError(`"${spec}" names no path inside the sandbox (use ${m[1]}:<path>)`);
  return { id: m[1], path: m[3] };
}
