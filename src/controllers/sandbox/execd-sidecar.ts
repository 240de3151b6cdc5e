import type { V1Container, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import type { OperatorConfig } from "../../config/operator-config.js";

export const execdContainerName = "sandbox-execd";
export const execdTokenVolume = "sandbox-execd-token";
export const workspaceVolume = "sandbox-workspace";
export const workspacePath = "/workspace";
const tokenMountPath = "/var/run/agent-sandbox";
export const execdTokenKey = "token";
export const execdBinVolume = "sandbox-execd-bin";
export const execdTmpVolume = "sandbox-execd-tmp";
const execdBinPath = "/opt/agent-sandbox";

/**
 * Where the execution server's interpreters come from.
 * - "runtime" (default): the sidecar runs the execd image (Python 3 with pandas and
 *   matplotlib, Node, bash).
 * - "template-image": the sidecar runs the template's first container image, so code runs
 *   with that image's own interpreters and packages; an init container copies Node and the
 *   server (from the execd image's /usr/local/bin/node and /app) into a shared volume first.
 *   The image must be glibc-based and have python3/bash for those languages.
 */
export type ExecdRuntime = "runtime" | "template-image";

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
 * Adds the execution server as a sidecar, with a workspace volume it shares with
 * the first container and its own bearer token from a per-sandbox Secret, so a
 * peer that bypasses the router cannot call it. Pure.
 *
 * The sidecar is a restartable init container (a Kubernetes native sidecar), not a
 * second app container: the kubelet stops it once the template's containers have
 * ended, so a pod whose work is done still reaches Succeeded or Failed and the
 * Sandbox reports Finished, as it would without the execution server.
 */
export function withExecdSidecar(
  spec: V1PodSpec,
  tokenSecretName: string,
  config: OperatorConfig,
  runtime: ExecdRuntime = "runtime",
): V1PodSpec {
  const out: V1PodSpec = structuredClone(spec);
  const volumes: V1Volume[] = out.volumes ?? [];
  if (!volumes.some((v) => v.name === workspaceVolume)) {
    volumes.push({ name: workspaceVolume, emptyDir: config.workspaceSizeLimit ? { sizeLimit: config.workspaceSizeLimit } : {} });
  }
  volumes.push({
    name: execdTokenVolume,
    secret: { secretName: tokenSecretName, defaultMode: 0o440, items: [{ key: execdTokenKey, path: execdTokenKey }] },
  });
  if (config.tmpSizeLimit) {
    // Memory-backed with a size, so filling /tmp fails with ENOSPC inside the call rather
    // than growing gVisor's own /tmp tmpfs until the whole sandbox is out of memory.
    volumes.push({ name: execdTmpVolume, emptyDir: { medium: "Memory", sizeLimit: config.tmpSizeLimit } });
  }
  out.volumes = volumes;

  const first = out.containers[0];
  if (first && !(first.volumeMounts ?? []).some((m) => m.mountPath === workspacePath)) {
    first.volumeMounts = [...(first.volumeMounts ?? []), { name: workspaceVolume, mountPath: workspacePath }];
  }
  const sidecar = execdContainer(config);
  const templateImage = first?.image;
  if (runtime === "template-image" && templateImage) {
    out.volumes.push({ name: execdBinVolume, emptyDir: {} });
    // Before the sidecar in the list: init containers start in order.
    out.initContainers = [
      ...(out.initContainers ?? []),
      {
        name: `${execdContainerName}-install`,
        image: config.execdImage,
        imagePullPolicy: "IfNotPresent",
        command: ["/bin/sh", "-c", `cp -a /usr/local/bin/node /app ${execdBinPath}/`],
        volumeMounts: [{ name: execdBinVolume, mountPath: execdBinPath }],
      },
    ];
    sidecar.image = templateImage;
    sidecar.command = [`${execdBinPath}/node`, `${execdBinPath}/app/dist/execd/main.js`];
    sidecar.env = [{ name: "MPLBACKEND", value: "Agg" }];
    sidecar.volumeMounts = [...(sidecar.volumeMounts ?? []), { name: execdBinVolume, mountPath: execdBinPath, readOnly: true }];
  }
  out.initContainers = [...(out.initContainers ?? []), sidecar];
  return out;
}

function execdContainer(config: OperatorConfig): V1Container {
  return {
    name: execdContainerName,
    restartPolicy: "Always",
    image: config.execdImage,
    imagePullPolicy: "IfNotPresent",
    args: [
      "--port",
      String(config.execPort),
      "--workspace",
      workspacePath,
      "--token-file",
      `${tokenMountPath}/${execdTokenKey}`,
      // /tmp is then an emptyDir that outlives a restarted container or gVisor sandbox, so
      // the server can tell the first calls after such a restart that their state is gone.
      ...(config.tmpSizeLimit ? ["--boot-marker", "/tmp/.sandbox-execd-boots"] : []),
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
      ...(config.tmpSizeLimit ? [{ name: execdTmpVolume, mountPath: "/tmp" }] : []),
    ],
    securityContext: { readOnlyRootFilesystem: false },
  };
}
