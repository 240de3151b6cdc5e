// Short human forms of sizes and times for the console's tables.

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Time left until an RFC 3339 instant: "4m 05s", "expired", or "" when there is none. */
export function timeLeft(expireTime: string | undefined, nowMs: number): string {
  if (!expireTime) return "";
  const at = Date.parse(expireTime);
  if (Number.isNaN(at)) return "";
  const seconds = Math.floor((at - nowMs) / 1000);
  if (seconds <= 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return m > 0 ? `${m}m ${String(s).padStart(2, "0")}s` : `${s}s`;
}

/** Joins a directory and an entry name into a workspace path without a leading slash. */
export function joinPath(dir: string, name: string): string {
  const base = dir.replace(/^\/+|\/+$/g, "");
  return base ? `${base}/${name}` : name;
}

/** The parent of a workspace path ("" for the workspace itself). */
export function parentPath(path: string): string {
  const parts = path.replace(/^\/+|\/+$/g, "").split("/");
  parts.pop();
  return parts.join("/");
}
