import { LabelKeys, NetworkPolicyManagement, type SandboxTemplate } from "../../api/index.js";
import { controllerRef, ignoreNotFound, type ReconcileContext, type ReconcileResult } from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { managedByLabel } from "../shared/caches.js";
import { withoutCloudMetadata } from "../shared/cloud-metadata.js";
import { containsDesired } from "../shared/drift.js";
import { isNamed, type Named } from "../shared/named.js";
import { nameHash } from "../shared/name-hash.js";
import {
  desiredNetworkPolicy,
  defaultSandboxIngress,
  operatorEnvIngress,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
} from "../shared/network-policy.js";

/** Upstream's name for the one policy a template shares among its sandboxes. */
export function templatePolicyName(templateName: string): string {
  return `${templateName}-network-policy`;
}

/** The template's desired policy, and the egress CIDRs it asked for that were refused. */
export interface TemplatePolicy {
  policy: NetworkPolicy;
  /** Template ipBlocks wholly inside a cloud metadata range, left out of the policy. */
  refusedEgress: string[];
}

/**
 * The template's shared NetworkPolicy, selecting every pod built from it. With
 * no rules in the template it is our secure default (router ingress only, no
 * egress); rules in the template replace it, as upstream's do, except that no
 * egress rule ever reaches a cloud metadata address (see withoutCloudMetadata).
 */
export function desiredTemplatePolicy(template: Named<SandboxTemplate>, deps: Pick<ControllerDeps, "config">): TemplatePolicy {
  const rules = template.spec.networkPolicy;
  const { egress, refused } = withoutCloudMetadata(rules ? ((rules.egress ?? []) as NetworkPolicyEgressRule[]) : []);
  const policy = desiredNetworkPolicy({
    name: templatePolicyName(template.metadata.name),
    namespace: template.metadata.namespace,
    owner: controllerRef(template),
    labels: { ...managedByLabel },
    podSelector: { [LabelKeys.SandboxTemplateRefHash]: nameHash(template.metadata.name) },
    // The operator's rule joins a template's own rules too: it opens the execution port to the
    // operator alone, which delivers claims' env there, and nothing to anyone else.
    ingress: rules
      ? [...((rules.ingress ?? []) as NetworkPolicyIngressRule[]), ...operatorEnvIngress(deps.config)]
      : defaultSandboxIngress(deps.config),
    egress,
  });
  return { policy, refusedEgress: refused };
}

export function makeTemplateReconciler(deps: ControllerDeps) {
  const { kube, caches } = deps;
  return async function reconcileTemplate(_key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const template = caches.templates.get(ctx.namespace, ctx.name);
    if (!template || !isNamed(template) || template.metadata.deletionTimestamp) return;
    const live = caches.networkPolicies.get(ctx.namespace, templatePolicyName(ctx.name));
    const ours = live?.metadata.ownerReferences?.some((r) => r.uid === template.metadata.uid) ?? false;
    if (template.spec.networkPolicyManagement === NetworkPolicyManagement.Unmanaged) {
      if (live && ours) {
        await ignoreNotFound(
          kube.delete(
            { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespace: ctx.namespace, name: live.metadata.name },
            { preconditions: { uid: live.metadata.uid }, signal: ctx.signal },
          ),
        );
      }
      return;
    }
    const { policy: want, refusedEgress } = desiredTemplatePolicy(template, deps);
    if (!live || !containsDesired(live, want, ["spec"])) {
      await kube.apply(want, { signal: ctx.signal });
      if (refusedEgress.length > 0) {
        deps.events.event(template, {
          type: "Warning",
          reason: "CloudMetadataEgressRefused",
          action: "ApplyNetworkPolicy",
          note: `Egress to ${refusedEgress.join(", ")} was left out of the NetworkPolicy: sandboxes never reach cloud metadata addresses`,
        });
      }
    }
    return;
  };
}
