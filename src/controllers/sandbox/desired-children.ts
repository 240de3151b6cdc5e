import type { V1OwnerReference, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { toV1PersistentVolumeClaimSpec, type Sandbox } from "../../api/index.js";
import { childLabels } from "../shared/child-labels.js";
import type { Named } from "../shared/named.js";
import { pvcName } from "./desired-pod.js";

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
