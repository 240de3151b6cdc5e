// SandboxTemplate (extensions.agents.x-k8s.io/v1beta1): a reusable SandboxBlueprint plus the
// network and claim-customisation policies for sandboxes built from it. No status.
import { z } from "zod";
import { blueprintShape } from "./blueprint.js";
import { embedded } from "./core-primitives.js";
import { NetworkingV1NetworkPolicyEgressRuleSchema, NetworkingV1NetworkPolicyIngressRuleSchema } from "./generated/core-v1.js";
import { SandboxTemplateGVK } from "./groups.js";
import { ObjectMetaSchema } from "./object-meta.js";

export const NetworkPolicyManagement = { Managed: "Managed", Unmanaged: "Unmanaged" } as const;
export type NetworkPolicyManagement = (typeof NetworkPolicyManagement)[keyof typeof NetworkPolicyManagement];

export const EnvVarsInjectionPolicy = {
  /** A claim may add environment variables but not override the template's. */
  Allowed: "Allowed",
  /** A claim may add and override environment variables. */
  Overrides: "Overrides",
  /** A claim that sets env is rejected. */
  Disallowed: "Disallowed",
} as const;
export type EnvVarsInjectionPolicy = (typeof EnvVarsInjectionPolicy)[keyof typeof EnvVarsInjectionPolicy];

export const VolumeClaimTemplatesPolicy = {
  Disallowed: "Disallowed",
  Allowed: "Allowed",
  Overrides: "Overrides",
} as const;
export type VolumeClaimTemplatesPolicy = (typeof VolumeClaimTemplatesPolicy)[keyof typeof VolumeClaimTemplatesPolicy];

export const SandboxNetworkPolicySchema = z
  .object({
    ingress: z
      .array(NetworkingV1NetworkPolicyIngressRuleSchema.meta(embedded))
      .describe(
        "ingress is a list of ingress rules to be applied to the sandbox. Traffic is allowed to the sandbox if " +
          "it matches at least one rule. If this list is empty, all ingress traffic is blocked (Default Deny).",
      )
      .optional(),
    egress: z
      .array(NetworkingV1NetworkPolicyEgressRuleSchema.meta(embedded))
      .describe(
        "egress is a list of egress rules to be applied to the sandbox. Traffic is allowed out of the sandbox " +
          "if it matches at least one rule. If this list is empty, all egress traffic is blocked (Default Deny).",
      )
      .optional(),
  })
  .describe(
    "networkPolicy defines the network policy applied to sandboxes created from this template (one shared " +
      "NetworkPolicy per template). Ignored when networkPolicyManagement is Unmanaged. When Managed and omitted, " +
      "the controller applies its secure default policy; when provided, these rules replace the defaults. This " +
      "is a restricted subset of NetworkPolicySpec: podSelector and policyTypes are owned by the controller.",
  );
export type SandboxNetworkPolicy = z.infer<typeof SandboxNetworkPolicySchema>;

export const SandboxTemplateSpecSchema = z
  .object({
    ...blueprintShape,
    networkPolicy: SandboxNetworkPolicySchema.optional(),
    networkPolicyManagement: z
      .enum([NetworkPolicyManagement.Managed, NetworkPolicyManagement.Unmanaged])
      .describe(
        "networkPolicyManagement defines whether the controller manages the NetworkPolicy. Managed (default) " +
          "ensures a shared NetworkPolicy exists; Unmanaged skips NetworkPolicy creation entirely (e.g. Cilium).",
      )
      .default(NetworkPolicyManagement.Managed),
    envVarsInjectionPolicy: z
      .enum([EnvVarsInjectionPolicy.Allowed, EnvVarsInjectionPolicy.Overrides, EnvVarsInjectionPolicy.Disallowed])
      .describe(
        "envVarsInjectionPolicy controls whether a SandboxClaim may inject (Allowed) or also override " +
          "(Overrides) environment variables defined in the template. With Disallowed (default) a claim that " +
          "specifies env is rejected.",
      )
      .default(EnvVarsInjectionPolicy.Disallowed),
    volumeClaimTemplatesPolicy: z
      .enum([VolumeClaimTemplatesPolicy.Disallowed, VolumeClaimTemplatesPolicy.Allowed, VolumeClaimTemplatesPolicy.Overrides])
      .describe(
        "volumeClaimTemplatesPolicy controls whether a SandboxClaim may add (Allowed) or also override " +
          "(Overrides) volumeClaimTemplates of the template. Disallowed (default) rejects claims that set them.",
      )
      .default(VolumeClaimTemplatesPolicy.Disallowed),
  })
  .describe("spec defines the desired state of SandboxTemplate.");
export type SandboxTemplateSpec = z.infer<typeof SandboxTemplateSpecSchema>;
export type SandboxTemplateSpecInput = z.input<typeof SandboxTemplateSpecSchema>;

/** SandboxTemplate has no status (upstream declares none); kept as an empty shape for symmetry. */
export const SandboxTemplateStatusSchema = z.object({}).describe("SandboxTemplate has no status.");
export type SandboxTemplateStatus = z.infer<typeof SandboxTemplateStatusSchema>;

export const SandboxTemplateSchema = z
  .object({
    apiVersion: z.literal(SandboxTemplateGVK.apiVersion),
    kind: z.literal(SandboxTemplateGVK.kind),
    metadata: ObjectMetaSchema,
    spec: SandboxTemplateSpecSchema,
  })
  .describe("SandboxTemplate is a reusable blueprint for Sandboxes created by SandboxClaims and SandboxWarmPools.");
export type SandboxTemplate = z.infer<typeof SandboxTemplateSchema>;
export type SandboxTemplateInput = z.input<typeof SandboxTemplateSchema>;
