import type { V1Container, V1PodSpec, V1SecurityContext } from "@kubernetes/client-node";
import type { OperatorConfig } from "../../config/operator-config.js";

/**
 * Applies the operator's secure defaults to a sandbox pod spec. Upstream
 * agent-sandbox applies none of this to raw Sandboxes; we apply it on every
 * path. Each default fills only what the spec leaves unset, so a template or
 * Sandbox can still override any of them deliberately. Pure: returns a copy.
 */
export function withSecureDefaults(spec: V1PodSpec, config: OperatorConfig): V1PodSpec {
  const out: V1PodSpec = structuredClone(spec);
  if (out.runtimeClassName === undefined && config.defaultRuntimeClassName !== "") {
    out.runtimeClassName = config.defaultRuntimeClassName;
  }
  out.automountServiceAccountToken ??= false;
  // Service links leak the address of every Service in the namespace into the environment.
  out.enableServiceLinks ??= false;
  out.securityContext = {
    runAsNonRoot: true,
    runAsUser: config.defaultRunAsUser,
    runAsGroup: config.defaultRunAsUser,
    fsGroup: config.defaultRunAsUser,
    seccompProfile: { type: "RuntimeDefault" },
    ...out.securityContext,
  };
  out.containers = out.containers.map((c) => withContainerDefaults(c, config));
  if (out.initContainers) out.initContainers = out.initContainers.map((c) => withContainerDefaults(c, config));
  return out;
}

function withContainerDefaults(container: V1Container, config: OperatorConfig): V1Container {
  const securityContext: V1SecurityContext = {
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
    ...container.securityContext,
  };
  const { requests, limits } = container.resources ?? {};
  return {
    ...container,
    securityContext,
    resources: {
      ...container.resources,
      // A container that sets only limits gets requests equal to them from the API server.
      requests: requests ?? (limits ? undefined : config.defaultResources.requests),
      // A container that sets only requests keeps them as its limits for those resources,
      // so a default limit can never fall below what it asked for.
      limits: limits ?? { ...config.defaultResources.limits, ...requests },
    },
  };
}
