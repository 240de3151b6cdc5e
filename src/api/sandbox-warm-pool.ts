// SandboxWarmPool (extensions.agents.x-k8s.io/v1beta1): keeps spec.replicas Ready Sandboxes from a
// SandboxTemplate so claims can adopt one instantly. Scalable (HPA) through the scale subresource.
import { z } from "zod";
import { ConditionsSchema } from "./condition.js";
import { int32, int64 } from "./core-primitives.js";
import { SandboxWarmPoolGVK } from "./groups.js";
import { ObjectMetaSchema } from "./object-meta.js";

export const WarmPoolUpdateStrategyType = {
  /** Stale members (template changed) are deleted at once so the pool only holds fresh sandboxes. */
  Recreate: "Recreate",
  /** Stale members are only replaced as they are claimed or deleted. */
  OnReplenish: "OnReplenish",
} as const;
export type WarmPoolUpdateStrategyType = (typeof WarmPoolUpdateStrategyType)[keyof typeof WarmPoolUpdateStrategyType];

export const SandboxWarmPoolSpecSchema = z
  .object({
    replicas: int32(0)
      .describe("replicas is the desired number of sandboxes in the pool. This field is controlled by an HPA if specified.")
      .default(1),
    sandboxTemplateRef: z
      .object({ name: z.string().describe("name of the SandboxTemplate") })
      .describe("sandboxTemplateRef names the SandboxTemplate used to create the pool's Sandboxes."),
    updateStrategy: z
      .object({
        type: z
          .enum([WarmPoolUpdateStrategyType.Recreate, WarmPoolUpdateStrategyType.OnReplenish])
          .describe(
            "type of the update strategy: Recreate deletes stale members immediately; OnReplenish (default) " +
              "replaces them only when they are claimed or deleted.",
          )
          .default(WarmPoolUpdateStrategyType.OnReplenish),
      })
      .describe("updateStrategy is the strategy for replacing pool members when sandboxTemplateRef or the template changes.")
      .optional(),
  })
  .describe("spec defines the desired state of SandboxWarmPool.");
export type SandboxWarmPoolSpec = z.infer<typeof SandboxWarmPoolSpecSchema>;
export type SandboxWarmPoolSpecInput = z.input<typeof SandboxWarmPoolSpecSchema>;

export const SandboxWarmPoolStatusSchema = z
  .object({
    replicas: int32().describe("replicas is the total number of sandboxes in the pool.").optional(),
    readyReplicas: int32().describe("readyReplicas is the number of sandboxes in the pool that are Ready.").optional(),
    selector: z.string().describe("selector is the label selector used to find the sandboxes in the pool.").optional(),
    observedGeneration: int64().min(0).describe("observedGeneration is the .metadata.generation the status was computed from.").optional(),
    conditions: ConditionsSchema.describe(
      "conditions (an extension over upstream): Ready reports whether the pool holds its desired Ready replicas.",
    ).optional(),
  })
  .describe("status defines the observed state of SandboxWarmPool");
export type SandboxWarmPoolStatus = z.infer<typeof SandboxWarmPoolStatusSchema>;
export type SandboxWarmPoolStatusInput = z.input<typeof SandboxWarmPoolStatusSchema>;

export const SandboxWarmPoolSchema = z
  .object({
    apiVersion: z.literal(SandboxWarmPoolGVK.apiVersion),
    kind: z.literal(SandboxWarmPoolGVK.kind),
    metadata: ObjectMetaSchema,
    spec: SandboxWarmPoolSpecSchema,
    status: SandboxWarmPoolStatusSchema.optional(),
  })
  .describe("SandboxWarmPool keeps a number of ready Sandboxes from a SandboxTemplate for SandboxClaims to adopt.");
export type SandboxWarmPool = z.infer<typeof SandboxWarmPoolSchema>;
export type SandboxWarmPoolInput = z.input<typeof SandboxWarmPoolSchema>;
