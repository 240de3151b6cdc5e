// Draws a call's rich results. HTML from a sandbox is untrusted: it is sanitized, then shown in a
// frame that may run no script, submit no form and navigate nothing, under the page's own
// Content-Security-Policy (no script, no request off the router).
import DOMPurify from "dompurify";
import type { RichResult } from "../client/types.js";
import { h } from "./dom.js";
import { resultView } from "./result-view.js";

/** Tags an HTML result may not keep even after sanitizing: nothing that loads, refreshes or submits. */
const FORBIDDEN_TAGS = ["meta", "link", "base", "form", "iframe", "object", "embed"];
/** The only URLs an HTML result may keep: embedded pictures and in-page anchors, nothing to fetch. */
const ALLOWED_URIS = /^(?:data:image\/(?:png|jpeg|gif|webp);base64,|#)/i;

/** The element for one result. */
export function renderResult(result: RichResult): HTMLElement {
  const view = resultView(result);
  switch (view.kind) {
    case "image":
      return h("img", { class: "result-image", testId: "result-image", attrs: { src: view.src, alt: `${view.mimeType} result` } });
    case "text":
      return h("pre", { class: "result-text", testId: "result-text" }, view.text);
    case "html":
      return htmlFrame(view.html);
  }
}

function htmlFrame(html: string): HTMLElement {
  const clean = DOMPurify.sanitize(html, { FORBID_TAGS: FORBIDDEN_TAGS, ALLOWED_URI_REGEXP: ALLOWED_URIS });
  // Same origin without scripts lets the page size the frame to its content; with no script
  // allowed inside, nothing in the frame can use that origin.
  const frame = h("iframe", {
    class: "result-html",
    testId: "result-html",
    attrs: { sandbox: "allow-same-origin", title: "HTML result", referrerpolicy: "no-referrer" },
  });
  frame.srcdoc = `<!doctype html><html><head><link rel="stylesheet" href="result-frame.css"></head><body>${clean}</body></html>`;
  frame.addEventListener("load", () => {
    const body = frame.contentDocument?.body;
    if (body) frame.style.height = `${Math.min(body.scrollHeight + 24, 600)}px`;
  });
  return frame;
}
