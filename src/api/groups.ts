// API groups, versions and resource names of the agent-sandbox API (upstream v1beta1).
// Only v1beta1 is served: upstream also serves a deprecated v1alpha1 through a conversion
// webhook, which is out of scope here.

export const SANDBOX_GROUP = "agents.x-k8s.io" as const;
export const EXTENSIONS_GROUP = "extensions.agents.x-k8s.io" as const;
export const API_VERSION = "v1beta1" as const;

export const SandboxGVK = {
  group: SANDBOX_GROUP,
  version: API_VERSION,
  apiVersion: `${SANDBOX_GROUP}/${API_VERSION}`,
  kind: "Sandbox",
  listKind: "SandboxList",
  plural: "sandboxes",
  singular: "sandbox",
  shortNames: ["sandbox"],
} as const;

export const SandboxTemplateGVK = {
  group: EXTENSIONS_GROUP,
  version: API_VERSION,
  apiVersion: `${EXTENSIONS_GROUP}/${API_VERSION}`,
  kind: "SandboxTemplate",
  listKind: "SandboxTemplateList",
  plural: "sandboxtemplates",
  singular: "sandboxtemplate",
  shortNames: ["sandboxtemplate"],
} as const;

export const SandboxClaimGVK = {
  group: EXTENSIONS_GROUP,
  version: API_VERSION,
  apiVersion: `${EXTENSIONS_GROUP}/${API_VERSION}`,
  kind: "SandboxClaim",
  listKind: "SandboxClaimList",
  plural: "sandboxclaims",
  singular: "sandboxclaim",
  shortNames: ["sandboxclaim"],
} as const;

export const SandboxWarmPoolGVK = {
  group: EXTENSIONS_GROUP,
  version: API_VERSION,
  apiVersion: `${EXTENSIONS_GROUP}/${API_VERSION}`,
  kind: "SandboxWarmPool",
  listKind: "SandboxWarmPoolList",
  plural: "sandboxwarmpools",
  singular: "sandboxwarmpool",
  shortNames: ["swp"],
} as const;

export type ResourceGVK = typeof SandboxGVK | typeof SandboxTemplateGVK | typeof SandboxClaimGVK | typeof SandboxWarmPoolGVK;

export const ALL_RESOURCES: readonly ResourceGVK[] = [SandboxGVK, SandboxTemplateGVK, SandboxClaimGVK, SandboxWarmPoolGVK];
