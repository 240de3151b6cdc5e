import path from "node:path";
import type { V1Container, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import type { OperatorConfig } from "../../config/operator-config.js";
import { quantityBytes } from "../../api/quantity.js";
import { formatSandboxIdentity, type SandboxIdentity } from "../../execd-token/index.js";
import type { SizedVolume } from "./gvisor-mount-hints.js";
import { replacedPodNotice } from "./pod-replacement.js";

export const execdContainerName = "sandbox-execd";
export const workspaceVolume = "sandbox-workspace";
export const workspacePath = "/workspace";
export const execdBinVolume = "sandbox-execd-bin";
export const execdTmpVolume = "sandbox-execd-tmp";
export const shmVolume = "sandbox-shm";
const shmPath = "/dev/shm";
/**
 * The workspace emptyDir's sizeLimit sits this far above the workspace's own size: gVisor fails
 * writes at the size, and the kubelet's eviction stays only as a backstop (on nodes that do not
 * pass gVisor's mount hints, it is the limit).
 */
const workspaceEvictionHeadroom = 1.1;
const execdBinPath = "/opt/agent-sandbox";
/** Where the execd image holds the bundled server and its interpreter drivers (see scripts/bundle-execd.ts). */
const execdImageBundleDir = "/app/dist/execd-bundle";
const execdBundleFile = "sandbox-execd.mjs";

/**
 * Where the execution server's interpreters come from.
 * - "runtime" (default): the sidecar runs the execd image (Python 3 with pandas and
 *   matplotlib, Node, bash).
 * - "template-image": the sidecar runs the template's first container image, so code runs
 *   with that image's own interpreters and packages; an init container copies Node and the
 *   server (from the execd image's /usr/local/bin/node and its bundled server) into a shared
 *   volume first.
 *   The image must be glibc-based and have python3/bash for those languages.
 */
export type ExecdRuntime = "runtime" | "template-image";

/**
 * Whether the pod already serves an execution API: a container that declares the
 * execution port is taken to be the user's own runtime (for example upstream's
 * python-runtime-sandbox image), and we must not bind a second server to it.
 */
export function servesExecPort(spec: V1PodSpec, port: number): boolean {
  return [...spec.containers, ...(spec.initContainers ?? [])].some((c) => (c.ports ?? []).some((p) => p.containerPort === port));
}

/**
 * Adds the execution server as a sidecar, with a workspace volume it shares with
 * the first container. It is told which sandbox it serves and the router's public
 * keys, and accepts only tokens the router signed for this sandbox, so a peer that
 * bypasses the router cannot call it and nothing secret is in the pod. Pure.
 *
 * The keys are fixed when the pod is created: the operator never compares a running
 * pod's spec with this one beyond images, so a key change reaches new sandboxes only
 * and does not recreate running ones (see SECURITY.md on rotating the key).
 *
 * The sidecar is a restartable init container (a Kubernetes native sidecar), not a
 * second app container: the kubelet stops it once the template's containers have
 * ended, so a pod whose work is done still reaches Succeeded or Failed and the
 * Sandbox reports Finished, as it would without the execution server.
 */
export function withExecdSidecar(
  spec: V1PodSpec,
  sandbox: SandboxIdentity,
  config: OperatorConfig,
  runtime: ExecdRuntime = "runtime",
  previousPodEnd?: string,
): { spec: V1PodSpec; sizedVolumes: SizedVolume[] } {
  const out: V1PodSpec = structuredClone(spec);
  const volumes: V1Volume[] = out.volumes ?? [];
  const sizedVolumes: SizedVolume[] = [];
  if (!volumes.some((v) => v.name === workspaceVolume)) {
    if (config.workspaceSizeLimit) {
      const sizeBytes = quantityBytes(config.workspaceSizeLimit);
      volumes.push({ name: workspaceVolume, emptyDir: { sizeLimit: String(Math.ceil(sizeBytes * workspaceEvictionHeadroom)) } });
      sizedVolumes.push({ volume: workspaceVolume, sizeBytes, backing: "disk" });
    } else {
      volumes.push({ name: workspaceVolume, emptyDir: {} });
    }
  }
  if (config.tmpSizeLimit) {
    // Memory-backed with a size, so filling /tmp fails with ENOSPC inside the call rather
    // than growing gVisor's own /tmp tmpfs until the whole sandbox is out of memory.
    volumes.push({ name: execdTmpVolume, emptyDir: { medium: "Memory", sizeLimit: config.tmpSizeLimit } });
  }
  // A template that mounts its own /dev/shm keeps it.
  const ownShm = [...out.containers, ...(out.initContainers ?? [])].some((c) =>
    (c.volumeMounts ?? []).some((m) => m.mountPath === shmPath),
  );
  const sizedShm = Boolean(config.shmSizeLimit) && !ownShm && !volumes.some((v) => v.name === shmVolume);
  if (sizedShm) {
    volumes.push({ name: shmVolume, emptyDir: { medium: "Memory", sizeLimit: config.shmSizeLimit } });
    sizedVolumes.push({ volume: shmVolume, sizeBytes: quantityBytes(config.shmSizeLimit), backing: "memory" });
  }
  out.volumes = volumes;

  const first = out.containers[0];
  if (first && !(first.volumeMounts ?? []).some((m) => m.mountPath === workspacePath)) {
    first.volumeMounts = [...(first.volumeMounts ?? []), { name: workspaceVolume, mountPath: workspacePath }];
  }
  // Every container sees the one /dev/shm, as they would the pod's own.
  if (sizedShm) for (const c of out.containers) c.volumeMounts = [...(c.volumeMounts ?? []), { name: shmVolume, mountPath: shmPath }];
  const sidecar = execdContainer(sandbox, config);
  if (previousPodEnd !== undefined) {
    const persistent = Boolean(volumes.find((v) => v.name === workspaceVolume)?.persistentVolumeClaim);
    sidecar.args = [...(sidecar.args ?? []), "--restart-notice", replacedPodNotice(previousPodEnd, persistent)];
  }
  if (sizedShm) sidecar.volumeMounts = [...(sidecar.volumeMounts ?? []), { name: shmVolume, mountPath: shmPath }];
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
        command: ["/bin/sh", "-c", `cp -a /usr/local/bin/node ${execdImageBundleDir} ${execdBinPath}/`],
        volumeMounts: [{ name: execdBinVolume, mountPath: execdBinPath }],
      },
    ];
    sidecar.image = templateImage;
    sidecar.command = [`${execdBinPath}/node`, `${execdBinPath}/${path.posix.basename(execdImageBundleDir)}/${execdBundleFile}`];
    sidecar.env = [{ name: "MPLBACKEND", value: "Agg" }];
    sidecar.volumeMounts = [...(sidecar.volumeMounts ?? []), { name: execdBinVolume, mountPath: execdBinPath, readOnly: true }];
  }
  out.initContainers = [...(out.initContainers ?? []), sidecar];
  return { spec: out, sizedVolumes };
}

function execdContainer(sandbox: SandboxIdentity, config: OperatorConfig): V1Container {
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
      "--sandbox",
      formatSandboxIdentity(sandbox),
      ...config.execdTrustedKeys.flatMap((key) => ["--trusted-key", key]),
      // The operator's key opens the environment endpoint only (claims' env for warm sandboxes).
      ...config.execdEnvTrustedKeys.flatMap((key) => ["--env-trusted-key", key]),
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
      ...(config.tmpSizeLimit ? [{ name: execdTmpVolume, mountPath: "/tmp" }] : []),
    ],
    securityContext: { readOnlyRootFilesystem: false },
  };
}
