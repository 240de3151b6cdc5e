import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import { Transform, Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import parser from "stream-json/parser.js";
import type { z } from "zod";
import { badRequest, ExecdError, tooLarge } from "./errors.js";

/** A `files[i].content` string that was decoded to disk while the body was parsed. */
export interface SpilledFile {
  path: string;
  size: number;
}

export interface FilesBody<T> {
  body: T;
  /** Index in `files` -> decoded content on disk; that entry's `content` is left "". */
  spilled: Map<number, SpilledFile>;
  /** Removes spilled files not yet moved into the workspace. */
  cleanup(): Promise<void>;
}

export interface FilesBodyLimits {
  /** Largest raw JSON body. */
  maxJsonBytes: number;
  /** Largest total of decoded file contents. */
  maxFileBytes: number;
  /** Where decoded contents are written (outside the workspace). */
  scratchDir: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Frame {
  container: Json[] | { [key: string]: Json };
  key: string | null;
}

const BASE64_CHUNK = /^[A-Za-z0-9+/]*$/;

/** Decoded bytes are written in slices of about this much base64 text. */
const SPILL_BATCH = 1024 * 1024;

/**
 * Streaming base64 decoder writing to a file. The parser hands over the string in pieces of
 * a few hundred characters; they are batched so decoding and disk writes happen per MiB,
 * not per piece. Whole 4-character groups are decoded, the remainder waits for more text.
 */
class Base64Spill {
  private pending: string[] = [];
  private pendingLength = 0;
  private carry = "";
  private padded = false;
  size = 0;
  readonly out: WriteStream;

  constructor(
    readonly path: string,
    private readonly field: string,
    private readonly budget: () => number,
  ) {
    this.out = createWriteStream(path, { mode: 0o600 });
  }

  /** Takes a piece of text; returns a promise only when a batch had to be written out. */
  push(text: string): Promise<void> | undefined {
    if (!text) return undefined;
    this.pending.push(text);
    this.pendingLength += text.length;
    return this.pendingLength >= SPILL_BATCH ? this.drain() : undefined;
  }

  async end(): Promise<void> {
    await this.drain();
    if (this.carry.length !== 0) {
      this.out.destroy();
      throw this.invalid();
    }
    this.out.end();
    await finished(this.out);
  }

  private async drain(): Promise<void> {
    if (this.pendingLength === 0) return;
    if (this.padded) throw this.invalid(); // nothing may follow the padded last group
    const data = this.carry + this.pending.join("");
    this.pending = [];
    this.pendingLength = 0;
    const eq = data.indexOf("=");
    if (eq >= 0) {
      // Padding ("x=" or "xx==") may only end the string.
      if (!BASE64_CHUNK.test(data.slice(0, eq)) || !/^={1,2}$/.test(data.slice(eq))) throw this.invalid();
    } else if (!BASE64_CHUNK.test(data)) {
      throw this.invalid();
    }
    const whole = data.length - (data.length % 4);
    this.carry = data.slice(whole);
    if (eq >= 0 && this.carry === "") this.padded = true;
    if (whole === 0) return;
    const bytes = Buffer.from(data.slice(0, whole), "base64");
    this.size += bytes.length;
    if (this.budget() - bytes.length < 0) throw tooLarge("input files exceed the limit of decoded bytes");
    if (!this.out.write(bytes)) await new Promise<void>((resolve) => this.out.once("drain", () => resolve()));
  }

  private invalid(): ExecdError {
    return badRequest(`invalid field "${this.field}": must be standard base64 (A-Z a-z 0-9 + /, padded with =)`);
  }
}

/**
 * Reads a JSON body whose `files[i].content` strings are base64 file contents, decoding
 * those strings straight to disk as they stream in. A 100 MB file thus costs a few chunks
 * of memory instead of the body, the JSON string and the decoded bytes all at once. The
 * rest of the body is assembled normally and validated with `schema`.
 */
export async function readFilesBody<T extends z.ZodType>(
  req: IncomingMessage,
  limits: FilesBodyLimits,
  schema: T,
): Promise<FilesBody<z.infer<T>>> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxJsonBytes) {
    throw tooLarge(`request body of ${declared} bytes exceeds the limit of ${limits.maxJsonBytes} bytes`);
  }
  const spilled = new Map<number, SpilledFile>();
  const spillPaths: string[] = [];
  const cleanup = async (): Promise<void> => {
    spill?.out.destroy();
    await Promise.all(spillPaths.map((file) => rm(file, { force: true })));
  };
  let decodedTotal = 0;
  const stack: Frame[] = [];
  let root: Json | undefined;
  let text: string[] | null = null;
  let spill: Base64Spill | null = null;
  let spillIndex = -1;

  // Where the next value goes: an enclosing array's current element is its last one, the
  // innermost array's next element is one past its end.
  const currentPath = (): Array<string | number> =>
    stack.map((frame, depth) =>
      Array.isArray(frame.container)
        ? frame.container.length - (depth === stack.length - 1 ? 0 : 1)
        : (frame.key ?? ""),
    );

  const place = (value: Json): void => {
    const top = stack.at(-1);
    if (!top) {
      root = value;
      return;
    }
    if (Array.isArray(top.container)) top.container.push(value);
    else top.container[top.key ?? ""] = value;
  };

  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > limits.maxJsonBytes) {
        done(tooLarge(`request body exceeds the limit of ${limits.maxJsonBytes} bytes`));
      } else done(null, chunk);
    },
  });

  type Token = { name: string; value?: unknown };
  // Most tokens are handled synchronously; only spill batches and file ends wait for disk.
  const consumer = new Writable({
    objectMode: true,
    highWaterMark: 1024,
    write(token: Token, _encoding, done) {
      let pending: Promise<void> | undefined;
      try {
        pending = handle(token);
      } catch (error) {
        done(error as Error);
        return;
      }
      if (pending) pending.then(() => done(), done);
      else done();
    },
  });

  function handle(token: Token): Promise<void> | undefined {
    switch (token.name) {
      case "startObject": {
        const container: { [key: string]: Json } = {};
        place(container);
        stack.push({ container, key: null });
        return;
      }
      case "startArray": {
        const container: Json[] = [];
        place(container);
        stack.push({ container, key: null });
        return;
      }
      case "endObject":
      case "endArray":
        stack.pop();
        return;
      case "keyValue":
        stack.at(-1)!.key = String(token.value);
        return;
      case "startString": {
        const where = currentPath();
        if (where.length === 3 && where[0] === "files" && typeof where[1] === "number" && where[2] === "content") {
          spillIndex = where[1];
          const file = path.join(limits.scratchDir, `input-${randomBytes(8).toString("hex")}`);
          spillPaths.push(file);
          spill = new Base64Spill(file, `files.${spillIndex}.content`, () => limits.maxFileBytes - decodedTotal);
        } else text = [];
        return;
      }
      case "stringChunk": {
        const value = String(token.value);
        if (!spill) {
          text?.push(value);
          return;
        }
        const active = spill;
        const before = active.size;
        const writing = active.push(value);
        if (!writing) return;
        return writing.then(() => {
          decodedTotal += active.size - before;
        });
      }
      case "endString":
        if (spill) {
          const active = spill;
          const before = active.size;
          return active.end().then(() => {
            decodedTotal += active.size - before;
            spilled.set(spillIndex, { path: active.path, size: active.size });
            spill = null;
            place("");
          });
        }
        place((text ?? []).join(""));
        text = null;
        return;
      case "numberValue":
        place(Number(token.value));
        return;
      case "nullValue":
        place(null);
        return;
      case "trueValue":
        place(true);
        return;
      case "falseValue":
        place(false);
        return;
      default:
        return;
    }
  }

  try {
    await pipeline(
      req,
      counter,
      parser.asStream({ packKeys: true, packNumbers: true, packStrings: false, streamKeys: false, streamNumbers: false }),
      consumer,
    );
  } catch (error) {
    await cleanup();
    if (error instanceof ExecdError) throw error;
    throw badRequest(`request body is not valid JSON: ${(error as Error).message}`);
  }
  if (root === undefined) root = {};
  const result = schema.safeParse(root);
  if (!result.success) {
    await cleanup();
    const issue = result.error.issues[0];
    const where = issue && issue.path.length ? issue.path.join(".") : "body";
    throw badRequest(`invalid field "${where}": ${issue?.message ?? "invalid request"}`);
  }
  return { body: result.data, spilled, cleanup };
}
