import path from "node:path";
import type { FileEntry, RunResult, SandboxInfo } from "../client/index.js";

/** An image a tool returns: base64 data and its media type. */
export interface ToolImage {
  mimeType: string;
  data: string;
}

/** What a sandbox tool returns, in a form every agent framework can carry: text, then images. */
export interface ToolOutput {
  text: string;
  images: ToolImage[];
}

const IMAGE_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
};

/**
 * A run's answer as tool output: one text with stdout, stderr, the error and the text results,
 * and every image result (a matplotlib figure, say) as an image. Pure.
 */
export function runOutput(result: RunResult): ToolOutput {
  const parts: string[] = [];
  if (result.context?.stateLost) parts.push(`[state lost: ${result.context.restartReason ?? "the context was restarted"}]`);
  if (result.stdout) parts.push(`stdout:\n${result.stdout}`);
  if (result.stderr) parts.push(`stderr:\n${result.stderr}`);
  if (result.error)
    parts.push(`error: ${result.error.name}: ${result.error.message}${result.error.traceback ? `\n${result.error.traceback}` : ""}`);
  const images: ToolImage[] = [];
  for (const r of result.results) {
    if (r.mimeType.startsWith("image/") && r.mimeType !== "image/svg+xml") images.push({ data: r.data, mimeType: r.mimeType });
    else parts.push(`result (${r.mimeType}):\n${r.data}`);
  }
  for (const f of result.outputFiles) parts.push(`wrote ${f.name} (${f.size} bytes)`);
  if (parts.length === 0) parts.push(`(no output; exit code ${result.exitCode})`);
  return { text: parts.join("\n\n"), images };
}

/** A downloaded file as tool output: an image for images, text for UTF-8, else base64 text. Pure. */
export function fileOutput(name: string, content: Buffer): ToolOutput {
  const image = IMAGE_TYPES[path.extname(name).toLowerCase()];
  if (image && image !== "image/svg+xml")
    return { text: `${name} (${content.length} bytes)`, images: [{ data: content.toString("base64"), mimeType: image }] };
  const text = new TextDecoder("utf-8", { fatal: true });
  try {
    return { text: text.decode(content), images: [] };
  } catch {
    return { text: `${name} is binary (${content.length} bytes); base64:\n${content.toString("base64")}`, images: [] };
  }
}

/** A sandbox as one line for a listing. Pure. */
export function sandboxLine(s: SandboxInfo): string {
  const extra = [s.template ? `template ${s.template}` : "", s.expireTime ? `expires ${s.expireTime}` : "", s.message ?? ""].filter(
    Boolean,
  );
  return `${s.id} (${s.namespace}): ${s.state}, pool ${s.warmPool}${extra.length ? `; ${extra.join("; ")}` : ""}`;
}

/** A directory listing, one entry a line. Pure. */
export function listingText(dir: string, entries: readonly FileEntry[]): string {
  if (entries.length === 0) return `${dir || "/workspace"} is empty`;
  return entries.map((e) => `${e.type === "directory" ? `${e.name}/` : e.name}\t${e.size}`).join("\n");
}
