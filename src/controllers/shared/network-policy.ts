import type { V1LabelSelector, V1NetworkPolicyPort, V1OwnerReference } from "@kubernetes/client-node";
import type { OperatorConfig } from "../../config/operator-config.js";

/**
 * On a Sandbox: "Unmanaged" leaves network policy to the cluster (for example
 * Cilium policies). Set from the template's networkPolicyManagement by the pool
 * and claim controllers; anyone may set it on a raw Sandbox deliberately.
 */
export const networkPolicyAnnotation = "agents.x-k8s.io/network-policy";

// Wire-format shapes: client-node's generated models name the `from` field `_from`
// and only rename it through their own serializer, which server-side apply does not use.
export interface NetworkPolicyPeer {
  podSelector?: V1LabelSelector;
  namespaceSelector?: V1LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: V1NetworkPolicyPort[];
}
export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: V1NetworkPolicyPort[];
}
export interface NetworkPolicy {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences: V1OwnerReference[];
  };
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: ("Ingress" | "Egress")[];
    ingress: NetworkPolicyIngressRule[];
    egress: NetworkPolicyEgressRule[];
  };
}

/**
 * The secure default: sandboxes accept traffic only from the router, and only on
 * the execution port. Upstream's template default allows egress to the public
 * internet; ours allows no egress at all (not even DNS), so untrusted code cannot
 * reach the API server, the node, cloud metadata or another sandbox.
 */
export function routerOnlyIngress(config: OperatorConfig): NetworkPolicyIngressRule[] {
  return [
    {
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": config.routerNamespace } },
          podSelector: { matchLabels: { ...config.routerPodLabels } },
        },
      ],
      ports: [{ protocol: "TCP", port: config.execPort }],
    },
  ];
}

/**
 * The operator on the execution port, when it delivers claims' env to execution servers (it
 * has an environment key and knows its own pod labels); otherwise nothing. The execution
 * server takes the operator's tokens on its environment endpoint only, so this opens no other
 * route to it.
 */
export function operatorEnvIngress(config: OperatorConfig): NetworkPolicyIngressRule[] {
  if (config.execdEnvTrustedKeys.length === 0 || Object.keys(config.operatorPodLabels).length === 0) return [];
  return [
    {
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": config.operatorNamespace } },
          podSelector: { matchLabels: { ...config.operatorPodLabels } },
        },
      ],
      ports: [{ protocol: "TCP", port: config.execPort }],
    },
  ];
}

/** The default ingress of a sandbox: the router, and the operator when it delivers env. */
export function defaultSandboxIngress(config: OperatorConfig): NetworkPolicyIngressRule[] {
  return [...routerOnlyIngress(config), ...operatorEnvIngress(config)];
}

export interface NetworkPolicyInput {
  name: string;
  namespace: string;
  podSelector: Record<string, string>;
  owner: V1OwnerReference;
  labels?: Record<string, string>;
  ingress: NetworkPolicyIngressRule[];
  egress: NetworkPolicyEgressRule[];
}

/** A policy over both directions: whatever the rules do not allow is denied. */
export function desiredNetworkPolicy(input: NetworkPolicyInput): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: input.labels,
      ownerReferences: [input.owner],
    },
    spec: {
      podSelector: { matchLabels: input.podSelector },
      policyTypes: ["Ingress", "Egress"],
      ingress: input.ingress,
      egress: input.egress,
    },
  };
}
