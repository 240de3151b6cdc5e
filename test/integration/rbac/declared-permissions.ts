// The complete list of what the operator's and the router's ServiceAccounts may do, with the code
// that needs each grant. The chart's RBAC must grant exactly this (test/unit/chart checks the
// rendered rules, test/integration/rbac checks what the real API server then allows); a new API
// call in the controllers or the router means a new line here, in the chart, and nowhere else.

/** One RBAC tuple. `resource` may carry a subresource ("sandboxes/status"). */
export interface Permission {
  group: string;
  resource: string;
  verb: string;
  /** Limited to these object names (the Lease); omitted = any name. */
  resourceNames?: readonly string[];
  /** "cluster": every namespace (ClusterRole); "release": the release namespace only (Role). */
  scope: "cluster" | "release";
  why: string;
}

function grant(
  scope: Permission["scope"],
  group: string,
  resources: string[],
  verbs: string[],
  why: string,
  resourceNames?: string[],
): Permission[] {
  return resources.flatMap((resource) =>
    verbs.map((verb) => ({ group, resource, verb, scope, why, ...(resourceNames ? { resourceNames } : {}) })),
  );
}

const AGENTS = "agents.x-k8s.io";
const EXT = "extensions.agents.x-k8s.io";

/** The chart's default Lease name (values.yaml operator.leaderElection.leaseName). */
export const DEFAULT_LEASE_NAME = "agent-sandbox-ts-leader";

export function operatorPermissions(leaseName = DEFAULT_LEASE_NAME): Permission[] {
  return [
    ...grant("cluster", AGENTS, ["sandboxes"], ["list", "watch"], "shared informer (src/controllers/shared/caches.ts)"),
    ...grant("cluster", AGENTS, ["sandboxes"], ["get"], "claim reconciler reads the Sandbox after AlreadyExists"),
    ...grant("cluster", AGENTS, ["sandboxes"], ["create"], "warm pool members and cold-start claims"),
    ...grant("cluster", AGENTS, ["sandboxes"], ["patch"], "claim adoption re-parents a warm member (merge patch)"),
    ...grant("cluster", AGENTS, ["sandboxes"], ["delete"], "expiry (shutdownPolicy Delete), pool scale-down, claim expiry"),
    ...grant("cluster", AGENTS, ["sandboxes/status"], ["patch"], "status via server-side apply"),
    ...grant(
      "cluster",
      AGENTS,
      ["sandboxes/finalizers"],
      ["update"],
      "blockOwnerDeletion on children (OwnerReferencesPermissionEnforcement)",
    ),
    ...grant("cluster", EXT, ["sandboxtemplates", "sandboxwarmpools"], ["list", "watch"], "shared informers"),
    ...grant("cluster", EXT, ["sandboxclaims"], ["list", "watch"], "shared informer"),
    ...grant("cluster", EXT, ["sandboxclaims"], ["patch"], "claim annotations: first-observed time, adopted Sandbox (merge patch)"),
    ...grant("cluster", EXT, ["sandboxclaims"], ["delete"], "claim expiry with shutdownPolicy Delete/DeleteForeground"),
    ...grant("cluster", EXT, ["sandboxclaims/status", "sandboxwarmpools/status"], ["patch"], "status via server-side apply"),
    ...grant(
      "cluster",
      EXT,
      ["sandboxtemplates/finalizers", "sandboxclaims/finalizers", "sandboxwarmpools/finalizers"],
      ["update"],
      "blockOwnerDeletion on children (OwnerReferencesPermissionEnforcement)",
    ),
    ...grant(
      "cluster",
      "",
      ["pods"],
      ["get", "list", "watch", "create", "patch", "delete"],
      "sandbox pods: informer, create, look-up when the name is taken, metadata patch, suspend/expiry delete",
    ),
    ...grant(
      "cluster",
      "",
      ["services"],
      ["list", "watch", "create", "patch", "delete"],
      "headless Services: informer, server-side apply, delete",
    ),
    ...grant("cluster", "", ["persistentvolumeclaims"], ["list", "watch", "create"], "volumeClaimTemplates"),
    ...grant(
      "cluster",
      "networking.k8s.io",
      ["networkpolicies"],
      ["list", "watch", "create", "patch", "delete"],
      "per-sandbox and per-template policies",
    ),
    ...grant(
      "cluster",
      "",
      ["secrets"],
      ["get"],
      "Secrets named by a claim's spec.env valueFrom: one direct GET each, never listed, watched or cached",
    ),
    ...grant("cluster", "events.k8s.io", ["events"], ["create", "patch"], "EventRecorder: create, then series count patch"),
    ...grant("release", "coordination.k8s.io", ["leases"], ["create"], "leader election creates the Lease the first time"),
    ...grant("release", "coordination.k8s.io", ["leases"], ["get", "update"], "leader election reads and compare-and-swaps its Lease", [
      leaseName,
    ]),
  ];
}

export function routerPermissions(): Permission[] {
  return [
    ...grant("cluster", AGENTS, ["sandboxes"], ["list", "watch"], "target resolution from an informer cache (src/router/caches.ts)"),
    ...grant("cluster", AGENTS, ["sandboxes"], ["patch"], "suspend and resume write spec.operatingMode (src/router/management-api.ts)"),
    ...grant("cluster", EXT, ["sandboxclaims"], ["list", "watch"], "management API reads claims from an informer cache"),
    ...grant("cluster", EXT, ["sandboxclaims"], ["create", "delete"], "POST and DELETE /v1/sandboxes (src/router/management-api.ts)"),
    ...grant("cluster", EXT, ["sandboxclaims"], ["patch"], "coalesced TTL writes to lifecycle.shutdownTime (src/router/ttl.ts)"),
    ...grant("cluster", EXT, ["sandboxwarmpools"], ["list", "watch"], "template -> warm pool index (src/router/caches.ts)"),
    ...grant("cluster", EXT, ["sandboxwarmpools/scale"], ["patch"], "pool scaling through the management API"),
    ...grant("cluster", "authentication.k8s.io", ["tokenreviews"], ["create"], "bearer token authentication (src/router/auth.ts)"),
    ...grant(
      "cluster",
      "authorization.k8s.io",
      ["subjectaccessreviews"],
      ["create"],
      "per-sandbox authorization of the caller (src/router/auth.ts)",
    ),
  ];
}

const secretVerbs = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;

/**
 * No Secret access at all for the router, in any namespace, the release's included: it signs
 * the execution servers' tokens with a key mounted into its pod and never reads or writes a
 * Secret through the API.
 */
export const noSecretAccess: Denied[] = secretVerbs.flatMap((verb) =>
  (["foreign", "release"] as const).map((where) => ({ group: "", resource: "secrets", verb, where })),
);

/**
 * The operator reads one Secret at a time (a claim's env) and nothing more: it may not list,
 * watch or change any Secret, anywhere.
 */
export const operatorSecretDenied: Denied[] = secretVerbs
  .filter((verb) => verb !== "get")
  .flatMap((verb) => (["foreign", "release"] as const).map((where) => ({ group: "", resource: "secrets", verb, where })));

/** Things each ServiceAccount must NOT be able to do: spot checks with readable failures. */
export interface Denied {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  name?: string;
  /** "foreign": some namespace other than the release's; "release": the release namespace. */
  where: "foreign" | "release" | "cluster";
}

export const operatorDenied: Denied[] = [
  { group: "", resource: "pods", subresource: "exec", verb: "create", where: "foreign" },
  { group: "", resource: "pods", verb: "update", where: "foreign" },
  ...operatorSecretDenied,
  { group: "", resource: "configmaps", verb: "list", where: "foreign" },
  { group: "", resource: "serviceaccounts", subresource: "token", verb: "create", where: "foreign" },
  { group: "", resource: "nodes", verb: "list", where: "cluster" },
  { group: "", resource: "namespaces", verb: "delete", where: "cluster" },
  { group: AGENTS, resource: "sandboxes", verb: "update", where: "foreign" },
  { group: EXT, resource: "sandboxtemplates", verb: "delete", where: "foreign" },
  { group: EXT, resource: "sandboxwarmpools", verb: "patch", where: "foreign" },
  { group: "coordination.k8s.io", resource: "leases", verb: "get", where: "foreign" },
  { group: "coordination.k8s.io", resource: "leases", verb: "update", name: "someone-elses-lease", where: "release" },
  { group: "coordination.k8s.io", resource: "leases", verb: "delete", where: "release" },
  { group: "rbac.authorization.k8s.io", resource: "clusterroles", verb: "escalate", where: "cluster" },
  { group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", verb: "create", where: "cluster" },
  { group: "apiextensions.k8s.io", resource: "customresourcedefinitions", verb: "update", where: "cluster" },
  { group: "", resource: "users", verb: "impersonate", where: "cluster" },
];

export const routerDenied: Denied[] = [
  { group: "", resource: "pods", subresource: "exec", verb: "create", where: "foreign" },
  { group: "", resource: "pods", subresource: "portforward", verb: "create", where: "foreign" },
  { group: "", resource: "pods", verb: "list", where: "foreign" },
  ...noSecretAccess,
  { group: EXT, resource: "sandboxwarmpools", verb: "update", where: "foreign" },
  { group: EXT, resource: "sandboxwarmpools", verb: "delete", where: "foreign" },
  { group: AGENTS, resource: "sandboxes", verb: "create", where: "foreign" },
  { group: AGENTS, resource: "sandboxes", verb: "delete", where: "foreign" },
  { group: AGENTS, resource: "sandboxes", verb: "update", where: "foreign" },
  { group: AGENTS, resource: "sandboxes", subresource: "status", verb: "patch", where: "foreign" },
  { group: EXT, resource: "sandboxclaims", subresource: "status", verb: "patch", where: "foreign" },
  { group: EXT, resource: "sandboxtemplates", verb: "create", where: "foreign" },
  { group: EXT, resource: "sandboxwarmpools", verb: "patch", where: "foreign" },
  { group: "coordination.k8s.io", resource: "leases", verb: "create", where: "release" },
  { group: "", resource: "serviceaccounts", subresource: "token", verb: "create", where: "foreign" },
  { group: "", resource: "users", verb: "impersonate", where: "cluster" },
];

/** "group|resource|verb|names" keys, for set comparisons. */
export function permissionKey(p: { group: string; resource: string; verb: string; resourceNames?: readonly string[] | undefined }): string {
  return `${p.group}|${p.resource}|${p.verb}|${[...(p.resourceNames ?? [])].sort().join(",")}`;
}

export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Expands RBAC rules into one key per (group, resource, verb[, names]) tuple; wildcards stay "*". */
export function expandRules(rules: readonly RbacRule[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    if (r.nonResourceURLs?.length) {
      for (const url of r.nonResourceURLs) for (const verb of r.verbs) out.push(`nonResource|${url}|${verb}|`);
      continue;
    }
    for (const group of r.apiGroups ?? []) {
      for (const resource of r.resources ?? []) {
        for (const verb of r.verbs) out.push(permissionKey({ group, resource, verb, resourceNames: r.resourceNames }));
      }
    }
  }
  return [...new Set(out)].sort();
}
