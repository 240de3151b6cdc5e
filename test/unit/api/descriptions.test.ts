// Every field carries a description: it is the `kubectl explain` text of the CRD.
import { z } from "zod";
import { describe, expect, it } from "vitest";
import {
  SandboxClaimSpecSchema,
  SandboxClaimStatusSchema,
  SandboxSpecSchema,
  SandboxStatusSchema,
  SandboxTemplateSpecSchema,
  SandboxWarmPoolSpecSchema,
  SandboxWarmPoolStatusSchema,
} from "../../../src/api/index.js";

function undescribed(node: unknown, path: string, out: string[]): string[] {
  if (typeof node !== "object" || node === null) return out;
  const n = node as Record<string, unknown>;
  const props = n.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) {
    if (typeof v.description !== "string" || v.description.trim() === "") out.push(`${path}.${k}`);
    undescribed(v, `${path}.${k}`, out);
  }
  if (n.items) undescribed(n.items, `${path}[]`, out);
  if (typeof n.additionalProperties === "object") undescribed(n.additionalProperties, `${path}{}`, out);
  return out;
}

describe("field descriptions", () => {
  const schemas = {
    "Sandbox.spec": SandboxSpecSchema,
    "Sandbox.status": SandboxStatusSchema,
    "SandboxTemplate.spec": SandboxTemplateSpecSchema,
    "SandboxClaim.spec": SandboxClaimSpecSchema,
    "SandboxClaim.status": SandboxClaimStatusSchema,
    "SandboxWarmPool.spec": SandboxWarmPoolSpecSchema,
    "SandboxWarmPool.status": SandboxWarmPoolStatusSchema,
  };
  for (const [name, schema] of Object.entries(schemas)) {
    it(`${name}: every property has a description`, () => {
      const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", reused: "inline" });
      expect(undescribed(json, name, [])).toEqual([]);
    });
  }
});
