import { describe, expect, it } from "vitest";
import { desiredNetworkPolicy, routerOnlyIngress } from "../../../../src/controllers/shared/network-policy.js";
import { desiredTemplatePolicy, templatePolicyName } from "../../../../src/controllers/sandbox-template/reconciler.js";
import { nameHash } from "../../../../src/controllers/shared/name-hash.js";
import { makeTemplate, owner, testConfig } from "../fixtures.js";

const routerRule = {
  from: [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "router-ns" } },
      podSelector: { matchLabels: { app: "router", tier: "edge" } },
    },
  ],
  ports: [{ protocol: "TCP", port: 7777 }],
};

describe("routerOnlyIngress", () => {
  it("admits only the router's pods, in the router's namespace, on the exec port", () => {
    expect(routerOnlyIngress(testConfig)).toEqual([routerRule]);
  });

  it("follows the config", () => {
    const rules = routerOnlyIngress({ ...testConfig, routerNamespace: "other", routerPodLabels: { x: "y" }, execPort: 9 });
    expect(rules).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "other" } }, podSelector: { matchLabels: { x: "y" } } },
        ],
        ports: [{ protocol: "TCP", port: 9 }],
      },
    ]);
  });

  it("copies the router labels rather than sharing the config's map", () => {
    const cfg = { ...testConfig, routerPodLabels: { app: "router" } };
    const rules = routerOnlyIngress(cfg);
    const labels = rules[0]?.from?.[0]?.podSelector?.matchLabels;
    if (!labels) throw new Error("no labels");
    labels["app"] = "changed";
    expect(cfg.routerPodLabels).toEqual({ app: "router" });
  });
});

describe("desiredNetworkPolicy", () => {
  it("governs both directions over the given pods, denying what the rules do not allow", () => {
    const np = desiredNetworkPolicy({
      name: "sb",
      namespace: "ns",
      podSelector: { k: "v" },
      owner,
      labels: { l: "1" },
      ingress: routerOnlyIngress(testConfig),
      egress: [],
    });
    expect(np).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "sb", namespace: "ns", labels: { l: "1" }, ownerReferences: [owner] },
      spec: { podSelector: { matchLabels: { k: "v" } }, policyTypes: ["Ingress", "Egress"], ingress: [routerRule], egress: [] },
    });
  });
});

describe("desiredTemplatePolicy", () => {
  it("defaults to router-only ingress and no egress, selecting every pod built from the template", () => {
    const np = desiredTemplatePolicy(makeTemplate({}, "python"), { config: testConfig }).policy;
    expect(np.metadata.name).toBe("python-network-policy");
    expect(np.metadata.name).toBe(templatePolicyName("python"));
    expect(np.metadata.namespace).toBe("ns");
    expect(np.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "agent-sandbox-ts" });
    expect(np.metadata.ownerReferences).toEqual([
      {
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxTemplate",
        name: "python",
        uid: "uid-tmpl",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(np.spec.podSelector).toEqual({ matchLabels: { "agents.x-k8s.io/sandbox-template-ref-hash": nameHash("python") } });
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(np.spec.ingress).toEqual([routerRule]);
    expect(np.spec.egress).toEqual([]);
  });

  it("replaces the defaults with the template's rules", () => {
    const ingress = [{ from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ protocol: "TCP", port: 80 }] }];
    const egress = [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }];
    const np = desiredTemplatePolicy(makeTemplate({ networkPolicy: { ingress, egress } }), { config: testConfig }).policy;
    expect(np.spec.ingress).toEqual(ingress);
    expect(np.spec.egress).toEqual(egress);
  });

  it("denies a direction the template's rules leave out, rather than falling back to the defaults", () => {
    const egress = [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }];
    const np = desiredTemplatePolicy(makeTemplate({ networkPolicy: { egress } }), { config: testConfig }).policy;
    expect(np.spec.ingress).toEqual([]);
    expect(np.spec.egress).toEqual(egress);
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
  });
});
