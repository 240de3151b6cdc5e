import { describe, expect, it } from "vitest";
import type { RunResult } from "../../../src/client/index.js";
import { fileOutput, listingText, runOutput } from "../../../src/tools/content.js";

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

describe("runOutput", () => {
  it("puts output, the error and text results in the text and image results beside it", () => {
    const content = runOutput(
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
    expect(content).toEqual({
      text: "stdout:\nhi\n\n\nstderr:\nwarn\n\n\nerror: ValueError: bad\nTraceback ...\n\nresult (text/plain):\n42",
      images: [{ data: "iVBORw0KGgo=", mimeType: "image/png" }],
    });
  });

  it("says when the context lost its state, and when there was no output at all", () => {
    expect(runOutput(run({ context: { id: "default", language: "python", stateLost: true, restartReason: "timed out" } }))).toEqual({
      text: "[state lost: timed out]",
      images: [],
    });
    expect(runOutput(run({ exitCode: 3 }))).toEqual({ text: "(no output; exit code 3)", images: [] });
  });
});

describe("fileOutput", () => {
  it("gives images as images, UTF-8 as text and anything else as base64", () => {
    const png = Buffer.from("89504e47", "hex");
    expect(fileOutput("plot.PNG", png)).toEqual({
      text: "plot.PNG (4 bytes)",
      images: [{ data: png.toString("base64"), mimeType: "image/png" }],
    });
    expect(fileOutput("notes.md", Buffer.from("héllo"))).toEqual({ text: "héllo", images: [] });
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    expect(fileOutput("blob.bin", binary)).toEqual({
      text: `blob.bin is binary (4 bytes); base64:\n${binary.toString("base64")}`,
      images: [],
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
