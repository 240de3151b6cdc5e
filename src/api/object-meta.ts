// Metadata shapes used inside the agent-sandbox API (not the root object's metadata, which the API
// server owns and validates itself).
import { z } from "zod";

const labelsDescription =
  "labels defines the map of string keys and values that can be used to organize and categorize " +
  "(scope and select) objects. May match selectors of replication controllers and services. " +
  "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels";
const annotationsDescription =
  "annotations is an unstructured key value map stored with a resource that may be set by external " +
  "tools to store and retrieve arbitrary metadata. They are not queryable and should be preserved " +
  "when modifying objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations";

export const StringMapSchema = z.record(z.string(), z.string());

/** Labels and annotations of a pod template (upstream PodMetadata). */
export const PodMetadataSchema = z
  .object({
    labels: StringMapSchema.describe(labelsDescription).optional(),
    annotations: StringMapSchema.describe(annotationsDescription).optional(),
  })
  .describe("metadata is the Pod's metadata. Only labels and annotations are used.");
export type PodMetadata = z.infer<typeof PodMetadataSchema>;

/** name/labels/annotations of an embedded object template (upstream EmbeddedObjectMetadata). */
export interface EmbeddedObjectMeta {
  name?: string;
  labels?: { [key: string]: string };
  annotations?: { [key: string]: string };
}
export const EmbeddedObjectMetaSchema: z.ZodType<EmbeddedObjectMeta, EmbeddedObjectMeta> = z
  .object({
    name: z
      .string()
      .describe(
        "name must be unique within a namespace. Is required when creating resources, although some " +
          "resources may allow a client to request the generation of an appropriate name automatically. " +
          "Name is primarily intended for creation idempotence and configuration definition. Cannot be " +
          "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
      )
      .optional(),
    labels: StringMapSchema.describe(labelsDescription).optional(),
    annotations: StringMapSchema.describe(annotationsDescription).optional(),
  })
  .describe("Standard object metadata of an embedded template: only name, labels and annotations are kept.");

/** Labels and annotations of an ephemeral volume's PVC template (the only metadata it may carry). */
export interface ClaimTemplateMeta {
  labels?: { [key: string]: string };
  annotations?: { [key: string]: string };
}
/**
 * Pod validation refuses any other metadata field in an ephemeral volume's claim template, so the
 * schema leaves `name` out: the API server prunes it from a Sandbox instead of the Pod failing.
 */
export const ClaimTemplateMetaSchema: z.ZodType<ClaimTemplateMeta, ClaimTemplateMeta> = z
  .object({
    labels: StringMapSchema.describe(labelsDescription).optional(),
    annotations: StringMapSchema.describe(annotationsDescription).optional(),
  })
  .describe("Metadata of an ephemeral volume's claim template: only labels and annotations are allowed.");

/**
 * Root object metadata as the operator reads it. The API server validates and owns this; the CRD
 * schema only says `type: object`. zod keeps unknown fields (ownerReferences, managedFields, ...)
 * so a parsed object can be written back without losing anything.
 */
export const ObjectMetaSchema = z
  .looseObject({
    name: z.string().optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().int().optional(),
    creationTimestamp: z.union([z.string(), z.date()]).optional(),
    deletionTimestamp: z.union([z.string(), z.date()]).optional(),
    labels: StringMapSchema.optional(),
    annotations: StringMapSchema.optional(),
  })
  .describe(
    "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  );
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;
