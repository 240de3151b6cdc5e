// Builds the four CustomResourceDefinitions from the zod schemas in src/api. Pure: returns plain
// JSON objects (exactly what `kubectl apply` sends), so scripts/gen-crds.ts, the Helm chart
// generator and the tests all share one definition.
//
// Only v1beta1 is generated (served + storage). Upstream also serves a deprecated v1alpha1 through
// a conversion webhook; conversion is out of scope for this project.
import type { z } from "zod";
import {
  ALL_RESOURCES,
  SandboxClaimGVK,
  SandboxClaimSpecSchema,
  SandboxClaimStatusSchema,
  SandboxGVK,
  SandboxSpecSchema,
  SandboxStatusSchema,
  SandboxTemplateGVK,
  SandboxTemplateSpecSchema,
  SandboxWarmPoolGVK,
  SandboxWarmPoolSpecSchema,
  SandboxWarmPoolStatusSchema,
  type ResourceGVK,
} from "../../src/api/index.js";
import { crdSchema, type JsonSchema } from "./structural.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "number" | "boolean";
  jsonPath: string;
  description?: string;
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[] };
    scope: "Namespaced";
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JsonSchema };
      subresources?: {
        status?: Record<string, never>;
        scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
      };
      additionalPrinterColumns?: PrinterColumn[];
    }>;
  };
}

interface KindDefinition {
  gvk: ResourceGVK;
  description: string;
  spec: z.ZodType;
  status?: z.ZodType;
  scale?: boolean;
  printerColumns?: PrinterColumn[];
}

const readyColumns = {
  ready: { name: "Ready", type: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
  reason: { name: "Reason", type: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].reason" },
  age: { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
} satisfies Record<string, PrinterColumn>;

export const KINDS: readonly KindDefinition[] = [
  {
    gvk: SandboxGVK,
    description: "Sandbox is the Schema for the sandboxes API: one isolated, stateful Pod with a stable identity.",
    spec: SandboxSpecSchema,
    status: SandboxStatusSchema,
    printerColumns: [readyColumns.ready, readyColumns.reason, readyColumns.age],
  },
  {
    gvk: SandboxTemplateGVK,
    description: "SandboxTemplate is the Schema for the sandbox template API.",
    spec: SandboxTemplateSpecSchema,
  },
  {
    gvk: SandboxClaimGVK,
    description: "SandboxClaim is the Schema for the sandbox Claim API.",
    spec: SandboxClaimSpecSchema,
    status: SandboxClaimStatusSchema,
    printerColumns: [
      readyColumns.ready,
      { name: "Sandbox", type: "string", jsonPath: ".status.sandbox.name" },
      readyColumns.reason,
      readyColumns.age,
    ],
  },
  {
    gvk: SandboxWarmPoolGVK,
    description: "SandboxWarmPool is the Schema for the sandboxwarmpools API.",
    spec: SandboxWarmPoolSpecSchema,
    status: SandboxWarmPoolStatusSchema,
    scale: true,
    printerColumns: [
      { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
      { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
      readyColumns.age,
    ],
  },
];

function rootSchema(def: KindDefinition): JsonSchema {
  const properties: JsonSchema = {
    apiVersion: {
      type: "string",
      description:
        "APIVersion defines the versioned schema of this representation of an object. Servers should convert " +
        "recognized schemas to the latest internal value, and may reject unrecognized values. More info: " +
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    },
    kind: {
      type: "string",
      description:
        "Kind is a string value representing the REST resource this object represents. Servers may infer this " +
        "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: " +
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    },
    // The API server validates root metadata itself and forbids anything but `type: object` here.
    metadata: { type: "object" },
    spec: crdSchema(def.spec, `${def.gvk.kind}.spec`),
  };
  if (def.status) properties.status = crdSchema(def.status, `${def.gvk.kind}.status`);
  return { description: def.description, type: "object", required: ["spec"], properties };
}

export function buildCrd(def: KindDefinition): CustomResourceDefinition {
  const { gvk } = def;
  const subresources: CustomResourceDefinition["spec"]["versions"][number]["subresources"] = {};
  if (def.status) subresources.status = {};
  if (def.scale) {
    subresources.scale = {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    };
  }
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${gvk.plural}.${gvk.group}` },
    spec: {
      group: gvk.group,
      names: {
        kind: gvk.kind,
        listKind: gvk.listKind,
        plural: gvk.plural,
        singular: gvk.singular,
        shortNames: [...gvk.shortNames],
      },
      scope: "Namespaced",
      versions: [
        {
          name: gvk.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(def) },
          ...(Object.keys(subresources).length ? { subresources } : {}),
          ...(def.printerColumns ? { additionalPrinterColumns: def.printerColumns } : {}),
        },
      ],
    },
  };
}

/** The CRDs for all four kinds, in a stable order. */
export function buildCrds(): CustomResourceDefinition[] {
  const built = KINDS.map(buildCrd);
  if (built.length !== ALL_RESOURCES.length) throw new Error("KINDS and ALL_RESOURCES disagree");
  return built;
}

/** crds/<group>_<plural>.yaml, as kubebuilder names them. */
export function crdFileName(crd: CustomResourceDefinition): string {
  return `${crd.spec.group}_${crd.spec.names.plural}.yaml`;
}
