// Sandbox (agents.x-k8s.io/v1beta1): one isolated, stateful Pod with a stable identity.
import { z } from "zod";
import { blueprintShape } from "./blueprint.js";
import { ConditionsSchema } from "./condition.js";
import { SandboxGVK } from "./groups.js";
import { lifecycleShape } from "./lifecycle.js";
import { ObjectMetaSchema } from "./object-meta.js";

export const SandboxOperatingMode = { Running: "Running", Suspended: "Suspended" } as const;
export type SandboxOperatingMode = (typeof SandboxOperatingMode)[keyof typeof SandboxOperatingMode];

/** Upstream's rule, verbatim: the PVCs of a running sandbox cannot be re-specified. */
export const VOLUME_CLAIM_TEMPLATES_IMMUTABLE_RULE =
  "has(self.volumeClaimTemplates) == has(oldSelf.volumeClaimTemplates) && " +
  "(!has(self.volumeClaimTemplates) || self.volumeClaimTemplates == oldSelf.volumeClaimTemplates)";

export const SandboxSpecSchema = z
  .object({
    ...blueprintShape,
    ...lifecycleShape,
    operatingMode: z
      .enum([SandboxOperatingMode.Running, SandboxOperatingMode.Suspended])
      .describe(
        "operatingMode specifies the desired operational state of the Sandbox: Running (default) keeps a " +
          "backing Pod running; Suspended terminates the backing Pod but retains the Sandbox object and its " +
          "volumes so it can later be resumed. This field declares intent only; observed readiness is " +
          "reported by the Ready condition and the progress of a suspension by the Suspended condition.",
      )
      .default(SandboxOperatingMode.Running),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: VOLUME_CLAIM_TEMPLATES_IMMUTABLE_RULE,
        message: "volumeClaimTemplates is immutable",
        fieldPath: ".volumeClaimTemplates",
      },
    ],
  })
  .describe("spec defines the desired state of Sandbox. volumeClaimTemplates is immutable after creation.");
export type SandboxSpec = z.infer<typeof SandboxSpecSchema>;
export type SandboxSpecInput = z.input<typeof SandboxSpecSchema>;

export const SandboxStatusSchema = z
  .object({
    serviceFQDN: z
      .string()
      .describe(
        "serviceFQDN is the fully qualified in-cluster DNS name of the Sandbox's headless Service. The domain " +
          "defaults to cluster.local and is configurable via the controller's --cluster-domain flag.",
      )
      .optional(),
    service: z
      .string()
      .describe("service is the name of the headless Service created for this Sandbox. It is empty when no Service exists.")
      .optional(),
    conditions: ConditionsSchema.describe("conditions: Ready, Suspended, PodScheduled and Finished (metav1.Condition).").optional(),
    selector: z
      .string()
      .describe("selector is the label selector (agents.x-k8s.io/sandbox-name-hash=<hash>) of the sandbox's pod.")
      .optional(),
    podIPs: z
      .array(z.string())
      .describe(
        "podIPs are the IP addresses of the underlying pod (several in dual-stack clusters). Cleared whenever " +
          "the pod is absent, for example while the Sandbox is suspended.",
      )
      .optional(),
    nodeName: z
      .string()
      .describe("nodeName is the node the underlying pod is scheduled to. Cleared whenever the pod is absent.")
      .optional(),
  })
  .describe("status defines the observed state of Sandbox");
export type SandboxStatus = z.infer<typeof SandboxStatusSchema>;
export type SandboxStatusInput = z.input<typeof SandboxStatusSchema>;

export const SandboxSchema = z
  .object({
    apiVersion: z.literal(SandboxGVK.apiVersion),
    kind: z.literal(SandboxGVK.kind),
    metadata: ObjectMetaSchema,
    spec: SandboxSpecSchema,
    status: SandboxStatusSchema.optional(),
  })
  .describe("Sandbox is an isolated, stateful workload: exactly one Pod, optional headless Service and PVCs.");
export type Sandbox = z.infer<typeof SandboxSchema>;
export type SandboxInput = z.input<typeof SandboxSchema>;
