import type { KubernetesObject } from "@kubernetes/client-node";
import { LabelKeys, NetworkPolicyManagement, type SandboxTemplate } from "../../api/index.js";
import { controllerRef, ignoreNotFound, type ReconcileContext, type ReconcileResult } from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { managedByLabel } from "../shared/caches.js";
import { containsDesired } from "../shared/drift.js";
import { isNamed, type Named } from "../shared/named.js";
import { nameHash } from "../shared/name-hash.js";
import {
  desiredNetworkPolicy,
  routerOnlyIngress,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
} from "../shared/network-policy.js";

/** Upstream's name for the one policy a template shares among its sandboxes. */
export function templatePolicyName(templateName: string): string {
  return `${templateName}-network-policy`;
}

/**
 * The template's shared NetworkPolicy, selecting every pod built from it. With
 * no rules in the template it is our secure default (router ingress only, no
 * egress); rules in the template replace it, as upstream's do.
 */
export function desiredTemplatePolicy(template: Named<SandboxTemplate>, deps: Pick<ControllerDeps, "config">): NetworkPolicy {
  const rules = template.spec.networkPolicy;
  return desiredNetworkPolicy({
    name: templatePolicyName(template.metadata.name),
    namespace: template.metadata.namespace,
    owner: controllerRef(template as KubernetesObject),
    labels: { ...managedByLabel },
    podSelector: { [LabelKeys.SandboxTemplateRefHash]: nameHash(template.metadata.name) },
    ingress: rules ? ((rules.ingress ?? []) as NetworkPolicyIngressRule[]) : routerOnlyIngress(deps.config),
    egress: rules ? ((rules.egress ?? []) as NetworkPolicyEgressRule[]) : [],
  });
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
    const want = desiredTemplatePolicy(template, deps);
    if (!live || !containsDesired(live, want, ["spec"])) await kube.apply(want as KubernetesObject, { signal: ctx.signal });
    return;
  };
}
