import { z } from "zod";
import { LANGUAGES } from "./kernels/drivers.js";

/** Strict standard base64 (padding required), checked without decoding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const base64String = z.string().regex(BASE64, "must be standard base64");

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

export const upstreamExecuteSchema = z.object({ command: z.string() });
