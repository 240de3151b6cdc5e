import type { V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { EnvDelivery, OperatorKeys, type SandboxTemplate } from "../../api/index.js";
import { execdAnnotation } from "../sandbox/desired-pod.js";
import { servesExecPort } from "../sandbox/execd-sidecar.js";
import { keyIdOfEncoded } from "../../execd-token/index.js";

/**
 * How a claim's env reaches its sandbox:
 * - "execd": the operator hands the variables to the injected execution server of a warm (or
 *   cold) sandbox, which sets them in every context; the pod spec never holds them.
 * - "pod": the variables go into the container's spec, as upstream does, so the claim is
 *   cold-started; a Secret reference stays a reference (the kubelet reads the Secret).
 */
export type EnvDeliveryMode = "execd" | "pod";

/**
 * Pure. "pod" when the template asks for it (OperatorKeys.EnvDelivery), when its pod gets no
 * injected execution server (it serves the execution port itself, or opts out), or when this
 * operator cannot reach execution servers (it was given no key to sign environment tokens).
 */
export function envDeliveryMode(template: SandboxTemplate, execPort: number, execdDeliveryEnabled: boolean): EnvDeliveryMode {
  if (!execdDeliveryEnabled) return "pod";
  if (template.metadata.annotations?.[OperatorKeys.EnvDelivery] === EnvDelivery.Pod) return "pod";
  if (template.spec.podTemplate.metadata?.annotations?.[execdAnnotation] === "false") return "pod";
  if (servesExecPort(template.spec.podTemplate.spec as V1PodSpec, execPort)) return "pod";
  return "execd";
}

/**
 * Whether a pod's execution server takes environment tokens of one of `keys`, as the operator
 * recorded on the pod when it created it (OperatorKeys.EnvKeys). A pod keeps the keys it was
 * created with, so a warm member started before the operator had its key (or before the key
 * changed) cannot receive a claim's env; such a claim takes another member or starts cold. Pure.
 */
export function podAcceptsEnvFrom(pod: V1Pod | undefined, keys: readonly string[]): boolean {
  const trusted = pod?.metadata?.annotations?.[OperatorKeys.EnvKeys]?.split(",") ?? [];
  return keys.some((k) => trusted.includes(keyIdOfEncoded(k)));
}
