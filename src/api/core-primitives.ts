// Hand-written building blocks that the generated core/v1 schemas (src/api/generated/core-v1.ts)
// and the agent-sandbox schemas share. They encode the few Kubernetes value types that are not
// plain JSON-schema types: resource quantities, int-or-string and sized integers.
import { z } from "zod";

/**
 * Metadata key marking an embedded Kubernetes type (PodSpec, PersistentVolumeClaimSpec, ...). The CRD
 * generator drops the descriptions below such a node (see scripts/lib/structural.ts for why).
 */
export const EMBEDDED_TYPE_MARKER = "x-agent-sandbox-embedded-type" as const;
export const embedded = { [EMBEDDED_TYPE_MARKER]: true } as const;

/** Annotation key zod schemas carry so the CRD post-pass emits `x-kubernetes-int-or-string`. */
export const INT_OR_STRING = "x-kubernetes-int-or-string" as const;

/**
 * The quantity grammar of k8s.io/apimachinery/pkg/api/resource, as controller-gen writes it into
 * CRDs. The API server enforces it from the CRD; zod enforces the same pattern client-side.
 */
export const QUANTITY_PATTERN =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

/**
 * A signed integer that must fit in 32 bits (Go int32). The range is checked by zod only (a
 * refinement): the CRD carries `format: int32` as controller-gen writes it, without bounds.
 */
export function int32(minimum?: number): z.ZodType<number, number> {
  const base = minimum === undefined ? z.number().int() : z.number().int().min(minimum);
  return base.refine((n) => n >= -2147483648 && n <= 2147483647, "must fit in a 32-bit signed integer").meta({ format: "int32" });
}

/** A signed integer stored as Go int64 (JavaScript can only hold 53 bits exactly). */
export function int64(): z.ZodNumber {
  return z.number().int().meta({ format: "int64" });
}

/** A double-precision number (Go float64). */
export function double(): z.ZodNumber {
  return z.number().meta({ format: "double" });
}

/**
 * A resource quantity such as "250m", "1Gi" or 2. The API server accepts a JSON integer or a
 * string; we normalise to the string form on parse so the output type matches
 * @kubernetes/client-node, whose models type every quantity as `string`.
 */
export const quantity = (): z.ZodType<string, string | number> =>
  z
    .union([z.number().int(), z.string().regex(new RegExp(QUANTITY_PATTERN))])
    .transform((v) => String(v))
    .meta({ [INT_OR_STRING]: true, pattern: QUANTITY_PATTERN });

/** An int-or-string value (k8s.io/apimachinery/pkg/util/intstr), e.g. a port number or name. */
export const intOrString = (): z.ZodType<number | string, number | string> =>
  z.union([z.number().int(), z.string()]).meta({ [INT_OR_STRING]: true });
