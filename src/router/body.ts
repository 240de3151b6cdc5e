import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { badRequest, RouterError } from "./errors.js";

const MAX_JSON = 1024 * 1024;

/** Reads a small JSON body (management calls) and validates it; bad input is a 400 naming the field. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON) throw new RouterError(413, "payload_too_large", `request body over ${MAX_JSON} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  let value: unknown = {};
  if (text) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`).join("; ");
    throw badRequest(`invalid request: ${issues}`);
  }
  return parsed.data;
}
