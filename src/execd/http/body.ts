import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { badRequest, tooLarge } from "./errors.js";

/** Reads a whole request body, refusing (413) as soon as it passes `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw tooLarge(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge(`request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Reads, parses and validates a JSON body; a bad field is named in the 400 message. */
export async function readJson<T extends z.ZodType>(req: IncomingMessage, limit: number, schema: T): Promise<z.infer<T>> {
  let raw: Buffer | null = await readBody(req, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.length ? raw.toString("utf8") : "{}");
  } catch (error) {
    throw badRequest(`request body is not valid JSON: ${(error as Error).message}`);
  }
  // Large bodies (base64 files) should not stay alive twice while the call runs.
  // eslint-disable-next-line no-useless-assignment -- drops the last reference to the raw bytes
  raw = null;
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length ? issue.path.join(".") : "body";
    throw badRequest(`invalid field "${where}": ${issue?.message ?? "invalid request"}`);
  }
  return result.data;
}
