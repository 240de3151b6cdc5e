import { describe, expect, it } from "vitest";
import {
  ForbiddenError,
  InvalidRequestError,
  SandboxError,
  SandboxExpiredError,
  SandboxFailedError,
  SandboxNotFoundError,
  SandboxNotReadyError,
  TimeoutError,
  UnauthorizedError,
  errorFromResponse,
} from "../../../src/client/errors.js";
import { ndjson } from "../../../src/client/ndjson.js";

describe("errorFromResponse", () => {
  it("maps statuses to typed errors carrying the server's code and message", () => {
    const e = errorFromResponse(404, { error: { code: "not_found", message: "no sandbox x" } });
    expect(e).toBeInstanceOf(SandboxNotFoundError);
    expect(e).toBeInstanceOf(SandboxError);
    expect(e).toMatchObject({ status: 404, code: "not_found", message: "no sandbox x", name: "SandboxNotFoundError" });
    expect(errorFromResponse(401, {})).toBeInstanceOf(UnauthorizedError);
    expect(errorFromResponse(403, {})).toBeInstanceOf(ForbiddenError);
    expect(errorFromResponse(410, {})).toBeInstanceOf(SandboxExpiredError);
    expect(errorFromResponse(400, {})).toBeInstanceOf(InvalidRequestError);
    expect(errorFromResponse(413, {})).toBeInstanceOf(InvalidRequestError);
    expect(errorFromResponse(422, { error: { code: "sandbox_failed", message: "m" } })).toBeInstanceOf(SandboxFailedError);
    expect(errorFromResponse(504, {})).toBeInstanceOf(TimeoutError);
    const notReady = errorFromResponse(503, { error: { code: "not_ready", message: "later" } }, new Headers({ "retry-after": "2" }));
    expect(notReady).toBeInstanceOf(SandboxNotReadyError);
    expect((notReady as SandboxNotReadyError).retryAfterSeconds).toBe(2);
    expect(errorFromResponse(500, "plain text").message).toBe("plain text");
    // Suspend / resume of a claim without a Sandbox yet: not Ready (CLI exit 7); other conflicts stay plain.
    expect(errorFromResponse(409, { error: { code: "not_bound", message: "no Sandbox yet" } })).toMatchObject({
      name: "SandboxNotReadyError",
      status: 409,
      code: "not_bound",
    });
    expect(errorFromResponse(409, { error: { code: "conflict", message: "m" } }).constructor).toBe(SandboxError);
  });
});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
}

describe("ndjson", () => {
  it("yields events split across chunks, including multi-byte characters and a last line without newline", async () => {
    const text = '{"type":"stdout","text":"héllo"}\n\n{"type":"summary","exitCode":0}';
    const bytes = new TextEncoder().encode(text);
    const cut = text.indexOf("é") + 1; // inside the two-byte character
    // Raw bytes, so the split really falls inside a character.
    const raw = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, cut));
        c.enqueue(bytes.slice(cut));
        c.close();
      },
    });
    const events = [];
    for await (const e of ndjson(raw)) events.push(e);
    expect(events).toEqual([
      { type: "stdout", text: "héllo" },
      { type: "summary", exitCode: 0 },
    ]);
    const simple = [];
    for await (const e of ndjson(streamOf(['{"a":1}\n{"b"', ":2}\n"]))) simple.push(e);
    expect(simple).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
