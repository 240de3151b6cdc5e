// The web console's pure parts: how results are drawn, how streamed events are read, and the
// short forms of sizes, times and paths.
import { describe, expect, it } from "vitest";
import { toExecuteEvent } from "../../../src/console/execute-events.js";
import { formatBytes, joinPath, parentPath, timeLeft } from "../../../src/console/format.js";
import { resultsToShow, resultView } from "../../../src/console/result-view.js";

describe("resultView", () => {
  it("draws base64 images as data URLs", () => {
    expect(resultView({ mimeType: "image/png", data: "iVBORw0K\nGgo=" })).toEqual({
      kind: "image",
      src: "data:image/png;base64,iVBORw0KGgo=",
      mimeType: "image/png",
    });
  });

  it("refuses image data that is not base64, so nothing but picture bytes reaches an attribute", () => {
    expect(resultView({ mimeType: "image/png", data: 'x" onerror="alert(1)' })).toEqual({
      kind: "text",
      text: "[image/png result whose data is not base64]",
    });
  });

  it("keeps HTML for the sandboxed frame, text types as text, and names other types", () => {
    expect(resultView({ mimeType: "text/html", data: "<table></table>" })).toEqual({ kind: "html", html: "<table></table>" });
    expect(resultView({ mimeType: "text/plain", data: "42" })).toEqual({ kind: "text", text: "42" });
    expect(resultView({ mimeType: "application/json", data: "{}" })).toEqual({ kind: "text", text: "{}" });
    expect(resultView({ mimeType: "application/pdf", data: "JVBERi0=" })).toEqual({
      kind: "text",
      text: "[application/pdf result, 8 characters]",
    });
  });

  it("shows a value's HTML form instead of its plain text, and keeps figures", () => {
    const figure = { mimeType: "image/png", data: "AAAA" };
    const plain = { mimeType: "text/plain", data: "   a\n0  1" };
    const html = { mimeType: "text/html", data: "<table/>" };
    expect(resultsToShow([figure, plain, html])).toEqual([figure, html]);
    expect(resultsToShow([figure, plain])).toEqual([figure, plain]);
  });
});

describe("toExecuteEvent", () => {
  it("reads each event type of a streamed call", () => {
    expect(toExecuteEvent({ type: "stdout", text: "hi\n" })).toEqual({ type: "stdout", text: "hi\n" });
    expect(toExecuteEvent({ type: "result", mimeType: "text/plain", data: "2" })).toEqual({
      type: "result",
      result: { mimeType: "text/plain", data: "2" },
    });
    expect(toExecuteEvent({ type: "error", name: "ZeroDivisionError", message: "division by zero", traceback: "tb" })).toEqual({
      type: "error",
      name: "ZeroDivisionError",
      message: "division by zero",
      traceback: "tb",
    });
    expect(toExecuteEvent({ type: "outputFile", name: "a.csv", size: 12, content: "..." })).toEqual({
      type: "outputFile",
      name: "a.csv",
      size: 12,
    });
    expect(
      toExecuteEvent({
        type: "summary",
        exitCode: 1,
        durationMs: 12.5,
        context: { id: "default", language: "python", stateLost: true, restartReason: "pod replaced" },
      }),
    ).toEqual({
      type: "summary",
      summary: {
        exitCode: 1,
        durationMs: 12.5,
        context: { id: "default", language: "python", stateLost: true, restartReason: "pod replaced" },
      },
    });
  });

  it("keeps what it does not know rather than failing the call, and tolerates wrong field types", () => {
    expect(toExecuteEvent({ type: "progress", value: 1 })).toEqual({ type: "unknown", raw: '{"type":"progress","value":1}' });
    expect(toExecuteEvent({ type: "summary", exitCode: "0", context: { id: 1 } })).toEqual({
      type: "summary",
      summary: { exitCode: 0, durationMs: 0, context: undefined },
    });
  });
});

describe("format", () => {
  it("sizes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200 MiB");
    expect(formatBytes(-1)).toBe("");
  });

  it("time left until expiry", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(timeLeft("2026-01-01T00:04:05Z", now)).toBe("4m 05s");
    expect(timeLeft("2026-01-01T02:30:00Z", now)).toBe("2h 30m");
    expect(timeLeft("2026-01-01T00:00:09Z", now)).toBe("9s");
    expect(timeLeft("2025-12-31T23:59:00Z", now)).toBe("expired");
    expect(timeLeft(undefined, now)).toBe("");
    expect(timeLeft("not a time", now)).toBe("");
  });

  it("workspace paths", () => {
    expect(joinPath("", "a.txt")).toBe("a.txt");
    expect(joinPath("/data/", "a.txt")).toBe("data/a.txt");
    expect(parentPath("data/raw/a.txt")).toBe("data/raw");
    expect(parentPath("a.txt")).toBe("");
    expect(parentPath("")).toBe("");
  });
});
