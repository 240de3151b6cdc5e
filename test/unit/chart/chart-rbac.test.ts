// The chart's RBAC grants exactly the declared permissions (test/integration/rbac/declared-permissions.ts),
// no more and no less. The integration test then proves the API server agrees.
import { describe, expect, it } from "vitest";
import {
  expandRules,
  operatorPermissions,
  permissionKey,
  routerPermissions,
  type Permission,
  type RbacRule,
} from "../../integration/rbac/declared-permissions.js";
import { find, renderChart } from "./helm.js";
import { helmMissing, helmPath } from "./helm-available.js";

function keys(perms: Permission[], scope: Permission["scope"]): string[] {
  return [...new Set(perms.filter((p) => p.scope === scope).map(permissionKey))].sort();
}

function rulesOf(o: { [k: string]: unknown }): RbacRule[] {
  return (o["rules"] ?? []) as RbacRule[];
}

describe.skipIf(helmMissing !== undefined)("chart RBAC", () => {
  const objects = helmMissing ? [] : renderChart(helmPath);

  it("gives the operator's ClusterRole exactly the declared cluster-wide permissions", () => {
    expect(expandRules(rulesOf(find(objects, "ClusterRole", "agent-sandbox-controller")))).toEqual(keys(operatorPermissions(), "cluster"));
  });

  it("limits the operator's Lease access to its release namespace and, for get/update, to its Lease", () => {
    const role = find(objects, "Role", "agent-sandbox-controller-leader-election");
    expect(role.metadata.namespace).toBe("agent-sandbox-system");
    expect(expandRules(rulesOf(role))).toEqual(keys(operatorPermissions(), "release"));
    const renamed = renderChart(helmPath, { set: { "operator.leaderElection.leaseName": "my-lease" } });
    expect(expandRules(rulesOf(find(renamed, "Role", "agent-sandbox-controller-leader-election")))).toEqual(
      keys(operatorPermissions("my-lease"), "release"),
    );
  });

  it("gives the router's ClusterRole exactly the declared permissions", () => {
    expect(expandRules(rulesOf(find(objects, "ClusterRole", "agent-sandbox-router")))).toEqual(keys(routerPermissions(), "cluster"));
    expect(keys(routerPermissions(), "release")).toEqual([]);
  });

  it("never grants wildcards, escalation verbs or exec", () => {
    for (const o of objects.filter((x) => x.kind === "ClusterRole" || x.kind === "Role")) {
      for (const k of expandRules(rulesOf(o))) {
        expect(k, `${o.kind}/${o.metadata.name}`).not.toMatch(/\*|\|(escalate|bind|impersonate)\||pods\/(exec|attach|portforward)/);
      }
    }
  });

  it("binds each role to its own ServiceAccount in the release namespace", () => {
    for (const [binding, role, sa] of [
      ["ClusterRoleBinding", "agent-sandbox-controller", "agent-sandbox-controller"],
      ["ClusterRoleBinding", "agent-sandbox-router", "agent-sandbox-router"],
      ["RoleBinding", "agent-sandbox-controller-leader-election", "agent-sandbox-controller"],
    ] as const) {
      const b = find(objects, binding, role);
      expect(b["roleRef"]).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: binding === "RoleBinding" ? "Role" : "ClusterRole",
        name: role,
      });
      expect(b["subjects"]).toEqual([{ kind: "ServiceAccount", name: sa, namespace: "agent-sandbox-system" }]);
    }
  });
});
