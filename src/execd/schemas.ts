import { z } from "zod";
import { LANGUAGES } from "./kernels/drivers.js";

/**
 * Strict standard base64 (padding required), checked without decoding. A single flat
 * character class keeps the regex linear and free of backtracking, which matters for a
 * 133 MB string.
 */
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64_CHARS.test(text);
}

/** Decoded size of valid base64 text. */
export function decodedLength(text: string): number {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

export const base64String = z.string().refine(isBase64, "must be standard base64 (A-Z a-z 0-9 + /, padded with =)");

export const inputFileSchema = z.object({
  name: z.string().min(1, "must not be empty"),
  content: base64String,
});

const envSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names must match [A-Za-z_][A-Za-z0-9_]*"),
  z.string(),
);

export const executeSchema = z.object({
  code: z.string(),
  language: z.enum(LANGUAGES).optional(),
  context: z.string().min(1).max(128).optional(),
  files: z.array(inputFileSchema).optional(),
  timeoutMs: z.number().int().positive().optional(),
  env: envSchema.optional(),
});
export type ExecuteRequest = z.infer<typeof executeSchema>;

export const executeCodeSchema = z.object({
  code: z.string(),
  language: z.enum(LANGUAGES).optional(),
  files: z.array(inputFileSchema).optional(),
  timeoutMs: z.number().int().positive().optional(),
});

export const createContextSchema = z.object({
  language: z.enum(LANGUAGES).default("python"),
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be 1-128 characters of letters, digits, '.', '_' or '-'")
    .optional(),
});

/**
 * Upstream's /execute body. `timeout_seconds` (newer upstream clients send it) limits how long
 * the command may run; the server's own limit still applies when it is shorter.
 */
export const upstreamExecuteSchema = z.object({
  command: z.string(),
  timeout_seconds: z.number().positive().finite().nullish(),
});
