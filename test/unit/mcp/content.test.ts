import { describe, expect, it } from "vitest";
import type { RunResult } from "../../../src/client/index.js";
import { fileContent, listingText, runContent } from "../../../src/mcp/content.js";

const run = (o: Partial<RunResult>): RunResult => ({
  stdout: "",
  stderr: "",
  exitCode: 0,
  results: [],
  outputFiles: [],
  durationMs: 1,
  warnings: [],
  ...o,
});

describe("runContent", () => {
  it("puts output, the error and text results in one text block and each image after it", () => {
    const content = runContent(
      run({
        stdout: "hi\n",
        stderr: "warn\n",
        error: { name: "ValueError", message: "bad", traceback: "Traceback ..." },
        results: [
          { mimeType: "text/plain", data: "42" },
          { mimeType: "image/png", data: "iVBORw0KGgo=" },
        ],
      }),
    );
    expect(content).toEqual([
      { type: "text", text: "stdout:\nhi\n\n\nstderr:\nwarn\n\n\nerror: ValueError: bad\nTraceback ...\n\nresult (text/plain):\n42" },
      { type: "image", data: "iVBORw0KGgo=", mimeType: "image/png" },
    ]);
  });

  it("says when the context lost its state, and when there was no output at all", () => {
    expect(runContent(run({ context: { id: "default", language: "python", stateLost: true, restartReason: "timed out" } }))[0]).toEqual({
      type: "text",
      text: "[state lost: timed out]",
    });
    expect(runContent(run({ exitCode: 3 }))).toEqual([{ type: "text", text: "(no output; exit code 3)" }]);
  });
});

describe("fileContent", () => {
  it("gives images as images, UTF-8 as text and anything else as base64", () => {
    const png = Buffer.from("89504e47", "hex");
    expect(fileContent("plot.PNG", png)).toEqual([{ type: "image", data: png.toString("base64"), mimeType: "image/png" }]);
    expect(fileContent("notes.md", Buffer.from("héllo"))).toEqual([{ type: "text", text: "héllo" }]);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    expect(fileContent("blob.bin", binary)[0]).toEqual({
      type: "text",
      text: `blob.bin is binary (4 bytes); base64:\n${binary.toString("base64")}`,
    });
  });
});

describe("listingText", () => {
  it("lists directories with a slash, and says when a directory is empty", () => {
    expect(
      listingText("data", [
        { name: "in.csv", size: 8, type: "file", modifiedAt: "2026-12-07T00:00:00Z" },
        { name: "out", size: 0, type: "directory", modifiedAt: "2026-12-07T00:00:00Z" },
      ]),
    ).toBe("in.csv\t8\nout/\t0");
    expect(listingText("", [])).toBe("/workspace is empty");
  });
});
