import { stringify } from "yaml";

export type OutputFormat = "table" | "json" | "yaml";

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | undefined;
}

/** Renders rows as aligned columns (kubectl style), or the raw objects as JSON / YAML. */
export function render<T>(format: OutputFormat, data: T | T[], columns: Column<T>[], rawForStructured: unknown = data): string {
  if (format === "json") return `${JSON.stringify(rawForStructured, null, 2)}\n`;
  if (format === "yaml") return stringify(rawForStructured);
  const rows = Array.isArray(data) ? data : [data];
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => String(c.value(r) ?? "")))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return (
    cells
      .map((row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
          .join("   ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** "3m", "2h", "5d" from now until `iso` (or "-" / "expired"). */
export function until(iso: string | undefined, nowMs = Date.now()): string {
  if (!iso) return "-";
  const ms = Date.parse(iso) - nowMs;
  if (!Number.isFinite(ms)) return "-";
  if (ms <= 0) return "expired";
  return humanDuration(ms);
}

export function since(iso: string | undefined, nowMs = Date.now()): string {
  if (!iso) return "-";
  const ms = nowMs - Date.parse(iso);
  return Number.isFinite(ms) && ms >= 0 ? humanDuration(ms) : "-";
}

export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}
