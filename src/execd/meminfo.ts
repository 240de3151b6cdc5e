/** A /proc/meminfo field in bytes ("MemTotal:  1024 kB" is 1048576), or null when absent. */
export function meminfoBytes(text: string, field: "MemTotal" | "MemAvailable"): number | null {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(text);
  return match ? Number(match[1]) * 1024 : null;
}
