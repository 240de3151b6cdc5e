import type { V1Container, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import type { OperatorConfig } from "../../config/operator-config.js";

export const execdContainerName = "sandbox-execd";
export const execdTokenVolume = "sandbox-execd-token";
export const workspaceVolume = "sandbox-workspace";
export const workspacePath = "/workspace";
const tokenMountPath = "/var/run/agent-sandbox";
export const execdTokenKey = "token";

/**
 * Whether the pod already serves an execution API: a container that declares the
 * execution port is taken to be the user's own runtime (for example upstream's
 * python-runtime-sandbox image), and we must not bind a second server to it.
 */
export function servesExecPort(spec: V1PodSpec, port: number): boolean {
  return [...spec.containers, ...(spec.initContainers ?? [])].some((c) =>
    (c.ports ?? []).some((p) => p.containerPort === port),
  );
}

/**
 * Adds the execution server as a sidecar container, with a workspace volume it
 * shares with the first container and its own bearer token from a per-sandbox
 * Secret, so a peer that bypasses the router cannot call it. Pure.
 */
export function withExecdSidecar(spec: V1PodSpec, tokenSecretName: string, config: OperatorConfig): V1PodSpec {
  const out: V1PodSpec = structuredClone(spec);
  const volumes: V1Volume[] = out.volumes ?? [];
  if (!volumes.some((v) => v.name === workspaceVolume)) {
    volumes.push({ name: workspaceVolume, emptyDir: {} });
  }
  volumes.push({
    name: execdTokenVolume,
    secret: { secretName: tokenSecretName, defaultMode: 0o440, items: [{ key: execdTokenKey, path: execdTokenKey }] },
  });
  out.volumes = volumes;

  const first = out.containers[0];
  if (first && !(first.volumeMounts ?? []).some((m) => m.mountPath === workspacePath)) {
    first.volumeMounts = [...(first.volumeMounts ?? []), { name: workspaceVolume, mountPath: workspacePath }];
  }
  out.containers.push(execdContainer(config));
  return out;
}

function execdContainer(config: OperatorConfig): V1Container {
  return {
    name: execdContainerName,
    image: config.execdImage,
    imagePullPolicy: "IfNotPresent",
    args: [
      "--port",
      String(config.execPort),
      "--workspace",
      workspacePath,
      "--token-file",
      `${tokenMountPath}/${execdTokenKey}`,
    ],
    ports: [{ name: "execd", containerPort: config.execPort, protocol: "TCP" }],
    readinessProbe: {
      httpGet: { path: "/", port: config.execPort },
      periodSeconds: 1,
      failureThreshold: 3,
    },
    volumeMounts: [
      { name: workspaceVolume, mountPath: workspacePath },
      { name: execdTokenVolume, mountPath: tokenMountPath, readOnly: true },
    ],
    securityContext: { readOnlyRootFilesystem: false },
  };
}
