import type { V1OwnerReference, V1PodSpec, V1Service, V1ServicePort } from "@kubernetes/client-node";

/**
 * Service ports derived from the pod's container ports (restartable init
 * containers included), de-duplicated by port and protocol. Unnamed ports get
 * upstream's generated name `p-<port>-<protocol>` so clients that look ports up
 * by name keep working.
 */
export function servicePortsFor(spec: V1PodSpec): V1ServicePort[] {
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  const seen = new Set<string>();
  const ports: V1ServicePort[] = [];
  for (const container of [...spec.containers, ...sidecars]) {
    for (const p of container.ports ?? []) {
      const protocol = p.protocol ?? "TCP";
      const key = `${p.containerPort}/${protocol}`;
      if (seen.has(key)) continue;
      seen.add(key);
      ports.push({
        name: p.name ?? `p-${p.containerPort}-${protocol.toLowerCase()}`,
        port: p.containerPort,
        targetPort: p.containerPort,
        protocol,
      });
    }
  }
  return ports;
}

export interface ServiceInput {
  name: string;
  namespace: string;
  selector: Record<string, string>;
  labels: Record<string, string>;
  owner: V1OwnerReference;
  podSpec: V1PodSpec;
}

/** A headless Service: it gives the sandbox a stable DNS name without a virtual IP. */
export function desiredService(input: ServiceInput): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: input.labels,
      ownerReferences: [input.owner],
    },
    spec: {
      clusterIP: "None",
      selector: input.selector,
      ports: servicePortsFor(input.podSpec),
      // Resolve the name as soon as the pod has an IP, before it is Ready, so the
      // first execute after Ready never races DNS.
      publishNotReadyAddresses: true,
    },
  };
}
