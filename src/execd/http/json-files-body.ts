import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import { finished } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { getManyValues, isMany, none } from "stream-chain/defs.js";
import { jsonParser } from "stream-json/core/parser.js";
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

/** 1 for the 64 characters of the standard base64 alphabet. */
const BASE64_ALPHABET = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") BASE64_ALPHABET[c.charCodeAt(0)] = 1;

/**
 * Whether text holds only base64 alphabet characters. A table lookup per character: V8's
 * regex engine took about 17 ms per MiB for /^[A-Za-z0-9+/]*$/, this takes about 1.
 */
function onlyBase64Chars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || BASE64_ALPHABET[code] === 0) return false;
  }
  return true;
}

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

  /** Stops writing and waits until the file is closed (opened first, if it was still opening). */
  async discard(): Promise<void> {
    this.out.destroy();
    await finished(this.out).catch(() => undefined);
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
      if (!onlyBase64Chars(data.slice(0, eq)) || !/^={1,2}$/.test(data.slice(eq))) throw this.invalid();
    } else if (!onlyBase64Chars(data)) {
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
    // A spill refused right after it began may still be opening its file: removing the file
    // before the stream has closed would let the open re-create it after the rm.
    await spill?.discard();
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
      Array.isArray(frame.container) ? frame.container.length - (depth === stack.length - 1 ? 0 : 1) : (frame.key ?? ""),
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

  type Token = { name: string; value?: unknown };
  // The tokenizer is used as a plain function (text in, tokens out) rather than as a Node
  // stream: half a million string-chunk tokens per 100 MB through object-mode streams cost
  // more than the tokenizing itself.
  const tokenize = jsonParser({
    packKeys: true,
    packNumbers: true,
    packStrings: false,
    streamKeys: false,
    streamNumbers: false,
  });
  const decoder = new StringDecoder("utf8");
  const feed = async (output: unknown): Promise<void> => {
    const tokens = isMany(output) ? (getManyValues(output) as Token[]) : output === none ? [] : [output as Token];
    for (const token of tokens) {
      const pending = handle(token);
      if (pending) await pending;
    }
  };
  const consume = async (): Promise<void> => {
    let received = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > limits.maxJsonBytes) {
        throw tooLarge(`request body exceeds the limit of ${limits.maxJsonBytes} bytes`);
      }
      await feed(tokenize(decoder.write(chunk)));
    }
    await feed(tokenize(decoder.end()));
    // A flushable is called once with `none` to emit what it still holds.
    await feed((tokenize as unknown as (end: typeof none) => unknown)(none));
  };

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
    await consume();
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
