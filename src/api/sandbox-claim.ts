// SandboxClaim (extensions.agents.x-k8s.io/v1beta1): a request for one sandbox from a warm pool,
// adopted warm when a Ready member exists, otherwise created cold from the pool's template.
import { z } from "zod";
import { VolumeClaimTemplatesSchema } from "./blueprint.js";
import { ConditionsSchema } from "./condition.js";
import { int32 } from "./core-primitives.js";
import { SandboxClaimGVK } from "./groups.js";
import { RESTRICTED_ANNOTATION_EXCEPTIONS, RESTRICTED_METADATA_DOMAINS } from "./labels.js";
import { ObjectMetaSchema } from "./object-meta.js";

export const ClaimShutdownPolicy = {
  /** Delete the claim (and, through garbage collection, its Sandbox) when it expires. */
  Delete: "Delete",
  /** Delete the claim with foreground cascading: it stays visible until the Sandbox and Pod are gone. */
  DeleteForeground: "DeleteForeground",
  /** Keep the claim (status shows it expired) but delete its Sandbox. */
  Retain: "Retain",
} as const;
export type ClaimShutdownPolicy = (typeof ClaimShutdownPolicy)[keyof typeof ClaimShutdownPolicy];

/** Kubernetes label value syntax (k8s.io/apimachinery validation.IsValidLabelValue). */
export const LABEL_VALUE_PATTERN = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

const domainAlternatives = RESTRICTED_METADATA_DOMAINS.map((d) => d.replace(/\./g, "\\\\.")).join("|");
/** A key whose prefix is a restricted domain or one of its subdomains. */
const restrictedKeyRegex = `^([^/]*\\\\.)?(${domainAlternatives})/`;
const exceptions = RESTRICTED_ANNOTATION_EXCEPTIONS.map((k) => `k == '${k}'`).join(" || ");
export const RESTRICTED_LABEL_KEY_RULE = `self.all(k, !k.matches('${restrictedKeyRegex}'))`;
/**
 * Kubernetes label key syntax (validation.IsQualifiedName), slightly loosened in the prefix so
 * the CEL rule fits the API server's cost budget: an optional DNS prefix of at most 253
 * characters and "/", then a name of at most 63 characters. A key the Pod cannot carry would otherwise
 * pass the claim and fail only when the operator writes the Pod.
 */
export const LABEL_KEY_PATTERN = "^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
export const LABEL_KEY_RULE = `self.all(k, k.matches('${LABEL_KEY_PATTERN}'))`;
export const RESTRICTED_ANNOTATION_KEY_RULE = `self.all(k, ${exceptions} || !k.matches('${restrictedKeyRegex}'))`;
const domainsText = RESTRICTED_METADATA_DOMAINS.join(", ");

/** The CEL rules' logic for zod (client-side parity; the API server enforces the CEL). */
export function isRestrictedMetadataKey(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false;
  const domain = key.slice(0, slash);
  return RESTRICTED_METADATA_DOMAINS.some((d) => domain === d || domain.endsWith(`.${d}`));
}
const restrictedKeys = (m: Record<string, string>, allowed: readonly string[]): string[] =>
  Object.keys(m).filter((k) => !allowed.includes(k) && isRestrictedMetadataKey(k));

export const AdditionalPodMetadataSchema = z
  .object({
    labels: z
      .record(
        z.string(),
        z
          .string()
          .max(63)
          .regex(new RegExp(LABEL_VALUE_PATTERN))
          .describe("A label value: at most 63 characters, alphanumerics, '-', '_' or '.', starting and ending alphanumeric."),
      )
      .superRefine((m, ctx) => {
        for (const k of Object.keys(m)) {
          if (!new RegExp(LABEL_KEY_PATTERN).test(k)) {
            ctx.addIssue({
              code: "custom",
              path: [k],
              message: `label key ${k} is not a valid label key (optional DNS prefix and "/", then at most 63 characters)`,
            });
          }
        }
        for (const k of restrictedKeys(m, [])) {
          ctx.addIssue({ code: "custom", path: [k], message: `label key ${k} is in a reserved domain (${domainsText})` });
        }
      })
      .meta({
        "x-kubernetes-validations": [
          {
            rule: RESTRICTED_LABEL_KEY_RULE,
            message: `label keys in the ${domainsText} domains (or their subdomains) are reserved`,
          },
          {
            rule: LABEL_KEY_RULE,
            message:
              'label keys must be an optional DNS-subdomain prefix and "/", then a name of at most 63 characters (alphanumerics, "-", "_", ".")',
          },
        ],
      })
      .describe("labels to add to the Sandbox Pod. Values are limited to 63 characters and Kubernetes label value syntax.")
      .optional(),
    annotations: z
      .record(z.string(), z.string())
      .superRefine((m, ctx) => {
        for (const k of restrictedKeys(m, RESTRICTED_ANNOTATION_EXCEPTIONS)) {
          ctx.addIssue({ code: "custom", path: [k], message: `annotation key ${k} is in a reserved domain (${domainsText})` });
        }
      })
      .meta({
        "x-kubernetes-validations": [
          {
            rule: RESTRICTED_ANNOTATION_KEY_RULE,
            message:
              `annotation keys in the ${domainsText} domains (or their subdomains) are reserved, except ` +
              RESTRICTED_ANNOTATION_EXCEPTIONS.join(", "),
          },
        ],
      })
      .describe(
        "annotations to add to the Sandbox Pod. Keys in restricted system domains are rejected, except " +
          "cluster-autoscaler.kubernetes.io/safe-to-evict.",
      )
      .optional(),
  })
  .describe(
    "additionalPodMetadata defines the labels and annotations to be propagated to the Sandbox Pod. Label " +
      "values are limited to 63 characters and must match Kubernetes label value patterns. Annotations in " +
      "restricted system domains are rejected, except cluster-autoscaler.kubernetes.io/safe-to-evict.",
  );
export type AdditionalPodMetadata = z.infer<typeof AdditionalPodMetadataSchema>;

export const ClaimLifecycleSchema = z
  .object({
    shutdownTime: z.iso
      .datetime({ offset: true })
      .describe(
        "shutdownTime is the absolute time when the SandboxClaim expires. It is not propagated to the " +
          "underlying Sandbox; the SandboxClaim controller enforces it by deleting the Sandbox resources when " +
          "the time is reached. If omitted, the claim itself does not expire.",
      )
      .optional(),
    ttlSecondsAfterFinished: int32(0)
      .describe(
        "ttlSecondsAfterFinished limits how long a finished claim is retained. The timer starts from the " +
          "mirrored Finished condition's lastTransitionTime.",
      )
      .optional(),
    shutdownPolicy: z
      .enum([ClaimShutdownPolicy.Delete, ClaimShutdownPolicy.DeleteForeground, ClaimShutdownPolicy.Retain])
      .describe(
        "shutdownPolicy determines the behavior when the SandboxClaim expires: Delete deletes the claim (and " +
          "its Sandbox), DeleteForeground deletes it with foreground cascading so it remains visible until the " +
          "Sandbox and Pod are gone, Retain (default) keeps the claim but deletes its Sandbox.",
      )
      .default(ClaimShutdownPolicy.Retain),
  })
  .describe("lifecycle defines when and how the SandboxClaim should be shut down.");
export type ClaimLifecycle = z.infer<typeof ClaimLifecycleSchema>;

/** A key of a Secret in the claim's namespace, whose value becomes the variable's. */
export const ClaimSecretKeyRefSchema = z
  .object({
    name: z.string().min(1).max(253).describe("name of the Secret, in the claim's namespace."),
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/)
      .describe("key of the Secret's data whose value becomes the variable's."),
  })
  .describe("secretKeyRef selects a key of a Secret in the claim's namespace.");
/** A claim variable's Secret reference. */
export type ClaimSecretKeyRef = z.infer<typeof ClaimSecretKeyRefSchema>;

/** CEL: exactly one of value and valueFrom (upstream manifests, which always set value, pass). */
export const CLAIM_ENV_SOURCE_RULE = "has(self.value) != has(self.valueFrom)";

export const ClaimEnvVarSchema = z
  .object({
    name: z.string().describe("name of the environment variable."),
    value: z.string().describe("value of the environment variable. Exactly one of value and valueFrom is set.").optional(),
    valueFrom: z
      .object({ secretKeyRef: ClaimSecretKeyRefSchema })
      .describe(
        "valueFrom takes the variable's value from a key of a Secret in the claim's namespace, read by the " +
          "operator when the claim is served. The value is never written into the claim, the Sandbox, their " +
          "events or the operator's logs; for templates that receive env in the pod itself it becomes the " +
          "container's own secretKeyRef. Exactly one of value and valueFrom is set.",
      )
      .optional(),
    containerName: z
      .string()
      .describe(
        "containerName specifies the target container for the environment variable. If not specified, it " +
          "defaults to the first container defined in the template.",
      )
      .optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.value === undefined) === (e.valueFrom === undefined)) {
      ctx.addIssue({ code: "custom", path: ["value"], message: "exactly one of value and valueFrom must be set" });
    }
  })
  .meta({ "x-kubernetes-validations": [{ rule: CLAIM_ENV_SOURCE_RULE, message: "exactly one of value and valueFrom must be set" }] })
  .describe("EnvVar is an environment variable for the sandbox: a literal value, or a key of a Secret in the claim's namespace.");
export type ClaimEnvVar = z.infer<typeof ClaimEnvVarSchema>;
/** A claim variable as clients write it (the SDK's and the router's `env`). */
export type ClaimEnvVarInput = z.input<typeof ClaimEnvVarSchema>;

export const SandboxClaimSpecSchema = z
  .object({
    warmPoolRef: z
      .object({ name: z.string().describe("name of the SandboxWarmPool") })
      .describe("warmPoolRef targets the pre-warmed pool to check out from; the pool's SandboxTemplate is used for a cold start."),
    lifecycle: ClaimLifecycleSchema.optional(),
    additionalPodMetadata: AdditionalPodMetadataSchema.optional(),
    env: z
      .array(ClaimEnvVarSchema)
      .meta({ "x-kubernetes-list-type": "atomic" })
      .describe(
        "env is a list of environment variables to inject into the sandbox, subject to the template's " +
          "envVarsInjectionPolicy. When the template's pod runs the injected execution server, a claim with env " +
          "is still served from the warm pool: the operator hands the variables to the execution server, which " +
          "sets them in every context, and the claim turns Ready only once they are in place. Templates that " +
          "serve their own execution API, or that ask for env in the pod (annotation " +
          "agent-sandbox-ts.dev/env-delivery: pod), get the variables in the container's spec instead, which " +
          "means the Sandbox is cold-started from the pool's template.",
      )
      .optional(),
    volumeClaimTemplates: VolumeClaimTemplatesSchema.describe(
      "volumeClaimTemplates is a list of persistent volume claims to be created for the sandbox, subject to " +
        "the template's volumeClaimTemplatesPolicy. Specifying it forces a cold start because warm pool pods " +
        "do not have these volumes.",
    ).optional(),
  })
  .describe("spec defines the desired state of SandboxClaim.");
export type SandboxClaimSpec = z.infer<typeof SandboxClaimSpecSchema>;
export type SandboxClaimSpecInput = z.input<typeof SandboxClaimSpecSchema>;

export const SandboxClaimStatusSchema = z
  .object({
    conditions: ConditionsSchema.describe(
      "conditions represent the latest available observations of the claim's state (Ready, Finished).",
    ).optional(),
    sandbox: z
      .object({
        name: z.string().describe("name is the name of the Sandbox created for or adopted by this claim").optional(),
        podIPs: z
          .array(z.string())
          .describe(
            "podIPs are the IP addresses of the underlying pod, mirrored from the Sandbox's status (several in " +
              "dual-stack clusters). Cleared whenever the pod is absent.",
          )
          .optional(),
        serviceFQDN: z
          .string()
          .describe(
            "serviceFQDN is the in-cluster DNS name of the bound Sandbox's Service, mirrored from the Sandbox's " +
              "status.serviceFQDN. It may lag the Sandbox by a reconcile and is cleared when the claim loses its sandbox.",
          )
          .optional(),
      })
      .describe("sandbox defines the state of the claimed Sandbox")
      .optional(),
  })
  .describe("status defines the observed state of SandboxClaim");
export type SandboxClaimStatus = z.infer<typeof SandboxClaimStatusSchema>;
export type SandboxClaimStatusInput = z.input<typeof SandboxClaimStatusSchema>;

export const SandboxClaimSchema = z
  .object({
    apiVersion: z.literal(SandboxClaimGVK.apiVersion),
    kind: z.literal(SandboxClaimGVK.kind),
    metadata: ObjectMetaSchema,
    spec: SandboxClaimSpecSchema,
    status: SandboxClaimStatusSchema.optional(),
  })
  .describe("SandboxClaim requests one sandbox from a SandboxWarmPool.");
export type SandboxClaim = z.infer<typeof SandboxClaimSchema>;
export type SandboxClaimInput = z.input<typeof SandboxClaimSchema>;
