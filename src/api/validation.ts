// Parsing at the trust boundary: objects from the API server are `unknown` until a schema accepts
// them. Failures become one human-readable line naming every offending field, in the
// `spec.podTemplate.spec.containers[0].image` form kubectl and the API server use, suitable for a
// condition message or an Event.
import type { z } from "zod";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** `["spec", "containers", 0, "image"]` -> `spec.containers[0].image`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out || "<root>";
}

/** All issues of a zod error as `field: message; field: message`, deduplicated, stable order. */
export function describeIssues(error: z.ZodError): string {
  const lines = error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
  return [...new Set(lines)].join("; ");
}

export function parseResource<S extends z.ZodType>(schema: S, value: unknown): ParseResult<z.output<S>> {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: describeIssues(r.error) };
}
