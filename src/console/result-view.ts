// How the console shows one rich result of a call: a picture, sanitized HTML in a frame, or text.
// Pure, so the choice is unit-tested without a browser.
import type { RichResult } from "../client/types.js";

/** What to draw for one result. */
export type ResultView = { kind: "image"; src: string; mimeType: string } | { kind: "html"; html: string } | { kind: "text"; text: string };

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"]);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The view of one result. Images become data URLs only when their payload is plain base64, so
 * nothing but picture bytes ever lands in an attribute; HTML is drawn later in a sandboxed frame,
 * after sanitizing; other text types are shown verbatim.
 */
export function resultView(result: RichResult): ResultView {
  const mimeType = result.mimeType.toLowerCase();
  if (IMAGE_TYPES.has(mimeType)) {
    const data = result.data.replace(/\s+/g, "");
    if (!BASE64.test(data)) return { kind: "text", text: `[${mimeType} result whose data is not base64]` };
    return { kind: "image", src: `data:${mimeType};base64,${data}`, mimeType };
  }
  if (mimeType === "text/html") return { kind: "html", html: result.data };
  if (mimeType.startsWith("text/") || mimeType === "application/json") return { kind: "text", text: result.data };
  return { kind: "text", text: `[${mimeType} result, ${result.data.length} characters]` };
}

/**
 * The results worth drawing, in order. A value with an HTML form (a pandas DataFrame) comes as
 * text/plain followed by text/html; a notebook shows the table, so the plain copy is dropped.
 */
export function resultsToShow(results: readonly RichResult[]): RichResult[] {
  const hasHtml = results.some((r) => r.mimeType.toLowerCase() === "text/html");
  return hasHtml ? results.filter((r) => r.mimeType.toLowerCase() !== "text/plain") : [...results];
}
