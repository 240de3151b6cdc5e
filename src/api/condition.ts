// metav1.Condition, with exactly the validation the Kubernetes API types carry
// (k8s.io/apimachinery/pkg/apis/meta/v1 Condition kubebuilder markers).
import { z } from "zod";
import { int64 } from "./core-primitives.js";

export const CONDITION_TYPE_PATTERN =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
export const CONDITION_REASON_PATTERN = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

export const ConditionStatus = { True: "True", False: "False", Unknown: "Unknown" } as const;
export type ConditionStatus = (typeof ConditionStatus)[keyof typeof ConditionStatus];

export const ConditionSchema = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(new RegExp(CONDITION_TYPE_PATTERN))
      // zod would write the RegExp's source, which escapes "/" as "\/"; the CRD carries the
      // pattern exactly as Kubernetes spells it.
      .meta({ pattern: CONDITION_TYPE_PATTERN })
      .describe("type of condition in CamelCase or in foo.example.com/CamelCase."),
    status: z
      .enum([ConditionStatus.True, ConditionStatus.False, ConditionStatus.Unknown])
      .describe("status of the condition, one of True, False, Unknown."),
    observedGeneration: int64()
      .min(0)
      .describe(
        "observedGeneration represents the .metadata.generation that the condition was set based upon. " +
          "For instance, if .metadata.generation is currently 12, but the .status.conditions[x].observedGeneration " +
          "is 9, the condition is out of date with respect to the current state of the instance.",
      )
      .optional(),
    lastTransitionTime: z.iso
      .datetime({ offset: true })
      .describe(
        "lastTransitionTime is the last time the condition transitioned from one status to another. " +
          "This should be when the underlying condition changed. If that is not known, then using the time " +
          "when the API field changed is acceptable.",
      ),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(new RegExp(CONDITION_REASON_PATTERN))
      .describe(
        "reason contains a programmatic identifier indicating the reason for the condition's last transition. " +
          "Producers of specific condition types may define expected values and meanings for this field, and " +
          "whether the values are considered a guaranteed API. The value should be a CamelCase string. This " +
          "field may not be empty.",
      ),
    message: z
      .string()
      .max(32768)
      .describe("message is a human readable message indicating details about the transition. This may be an empty string."),
  })
  .describe("Condition contains details for one aspect of the current state of this API Resource.");
export type Condition = z.infer<typeof ConditionSchema>;

/** status.conditions: one entry per type, merged by type under server-side apply. */
export const ConditionsSchema = z.array(ConditionSchema).meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });
