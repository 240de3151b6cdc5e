import { randomBytes } from "node:crypto";
import type { V1OwnerReference, V1PersistentVolumeClaim, V1Secret } from "@kubernetes/client-node";
import { toV1PersistentVolumeClaimSpec, type Sandbox } from "../../api/index.js";
import { childLabels } from "../shared/child-labels.js";
import type { Named } from "../shared/named.js";
import { execdTokenKey } from "./execd-sidecar.js";
import { pvcName, tokenSecretName } from "./desired-pod.js";

export function desiredPVCs(sandbox: Named<Sandbox>, owner: V1OwnerReference): V1PersistentVolumeClaim[] {
  return (sandbox.spec.volumeClaimTemplates ?? []).map((t) => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: pvcName(t.metadata?.name ?? "", sandbox.metadata.name),
      namespace: sandbox.metadata.namespace,
      labels: { ...t.metadata?.labels, ...childLabels(sandbox.metadata.name) },
      annotations: t.metadata?.annotations,
      ownerReferences: [owner],
    },
    spec: toV1PersistentVolumeClaimSpec(t.spec),
  }));
}

/**
 * The execution server's bearer token. Random, so it is created once and never
 * re-applied: a second apply would rotate the token under a running server.
 */
export function newTokenSecret(sandbox: Named<Sandbox>, owner: V1OwnerReference): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: tokenSecretName(sandbox.metadata.name),
      namespace: sandbox.metadata.namespace,
      labels: childLabels(sandbox.metadata.name),
      ownerReferences: [owner],
    },
    immutable: true,
    data: { [execdTokenKey]: Buffer.from(randomBytes(32).toString("base64url")).toString("base64") },
  };
}
