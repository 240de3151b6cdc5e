// SandboxBlueprint: the workload description shared by Sandbox and SandboxTemplate
// (upstream api/v1beta1 SandboxBlueprint = podTemplate + volumeClaimTemplates + service).
import type { V1PersistentVolumeClaimSpec, V1PodSpec } from "@kubernetes/client-node";
import { z } from "zod";
import {
  CoreV1PersistentVolumeClaimSpecSchema,
  CoreV1PodSpecSchema,
  type CoreV1PersistentVolumeClaimSpec,
  type CoreV1PodSpec,
} from "./generated/core-v1.js";
import { embedded } from "./core-primitives.js";
import { EmbeddedObjectMetaSchema, PodMetadataSchema } from "./object-meta.js";

export const PodTemplateSchema = z
  .object({
    metadata: PodMetadataSchema.optional(),
    spec: CoreV1PodSpecSchema.meta(embedded).describe("spec is the Pod's spec"),
  })
  .describe("podTemplate describes the pod that will be created in the sandbox.");
export type PodTemplate = z.infer<typeof PodTemplateSchema>;

export const PersistentVolumeClaimTemplateSchema = z
  .object({
    metadata: EmbeddedObjectMetaSchema.describe("metadata is the PVC's metadata.").optional(),
    spec: CoreV1PersistentVolumeClaimSpecSchema.meta(embedded).describe("spec is the PVC's spec"),
  })
  .describe("A template for a PersistentVolumeClaim created for the sandbox, named <metadata.name>-<sandbox name>.");
export type PersistentVolumeClaimTemplate = z.infer<typeof PersistentVolumeClaimTemplateSchema>;

export const VolumeClaimTemplatesSchema = z.array(PersistentVolumeClaimTemplateSchema).meta({ "x-kubernetes-list-type": "atomic" });

export const blueprintShape = {
  podTemplate: PodTemplateSchema.describe(
    "podTemplate describes the pod that will be created in the sandbox. When provisioned via a " +
      "SandboxTemplate (such as by a SandboxClaim or SandboxWarmPool), if automountServiceAccountToken is " +
      "not specified in the PodSpec, the controller defaults it to false to ensure a secure-by-default environment.",
  ),
  volumeClaimTemplates: VolumeClaimTemplatesSchema.describe(
    "volumeClaimTemplates is a list of claims that the sandbox pod is allowed to reference. When creating a " +
      "sandbox, PVCs will be created from these templates. Every claim in this list must have at least one " +
      "matching access mode with a provisioner volume. NOTE: This list is atomic. Updates to this field will " +
      "replace the entire list rather than merging with existing entries.",
  ).optional(),
  service: z
    .boolean()
    .describe(
      "service controls whether the controller should automatically create a headless Service for the " +
        "Sandbox workload. When unset, the controller preserves existing Services for backward compatibility " +
        "but does not create new ones. Set to true to enable or false to explicitly disable and remove the Service.",
    )
    .optional(),
};

export const SandboxBlueprintSchema = z
  .object(blueprintShape)
  .describe("SandboxBlueprint defines the configuration shared between Sandbox and SandboxTemplate.");
export type SandboxBlueprint = z.infer<typeof SandboxBlueprintSchema>;
export type SandboxBlueprintInput = z.input<typeof SandboxBlueprintSchema>;

/**
 * The pod spec type the schemas produce. It is the Kubernetes v1.32 PodSpec and is assignable to
 * @kubernetes/client-node's V1PodSpec (checked below at compile time), so controllers can hand it
 * straight to client-node APIs.
 */
export type PodSpec = CoreV1PodSpec;
export type PersistentVolumeClaimSpec = CoreV1PersistentVolumeClaimSpec;

/** Widen a schema-produced PodSpec to client-node's type (a no-op at runtime). */
export function toV1PodSpec(spec: PodSpec): V1PodSpec {
  return spec;
}
export function toV1PersistentVolumeClaimSpec(spec: PersistentVolumeClaimSpec): V1PersistentVolumeClaimSpec {
  return spec;
}
