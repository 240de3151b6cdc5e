/**
 * Prefix of gVisor's per-volume mount hints. runsc reads them from the pod's annotations (the
 * node's containerd must pass `dev.gvisor.spec.mount.*` pod annotations to the runsc handler).
 */
export const gvisorMountHintPrefix = "dev.gvisor.spec.mount.";

/** A pod volume that gVisor should serve as its own tmpfs with a fixed size. */
export interface SizedVolume {
  /** The pod volume's name (an emptyDir). */
  volume: string;
  /** The filesystem's size: writes past it fail with ENOSPC inside the sandbox. */
  sizeBytes: number;
  /**
   * "disk": the tmpfs keeps its pages in a file inside the emptyDir's directory on the node, so
   * the data is on disk and the kubelet still measures it. "memory": the pages are the
   * sandbox's own memory (for /dev/shm, which programs expect to be RAM).
   */
  backing: "disk" | "memory";
}

/**
 * The pod annotations that make gVisor mount each volume as one tmpfs shared by the pod's
 * containers, of the given size. Pure.
 *
 * Why a hint and not the emptyDir alone: under gVisor a disk emptyDir is a host directory that
 * fills until the kubelet next measures it against sizeLimit and evicts the whole pod, and
 * gVisor's containerd shim remounts any /dev/shm as an unsized tmpfs. A sized tmpfs fails the
 * one write that does not fit, and the sandbox stays up.
 *
 * The hint's type for a disk volume is "bind": the shim turns the hint of an empty emptyDir into
 * a tmpfs and leaves the containers' mounts as binds, which runsc reads as "tmpfs backed by a
 * file in that directory". "tmpfs" on both sides would keep the data in memory.
 */
export function gvisorMountHints(volumes: readonly SizedVolume[]): Record<string, string> {
  const hints: Record<string, string> = {};
  for (const { volume, sizeBytes, backing } of volumes) {
    const key = `${gvisorMountHintPrefix}${volume}.`;
    hints[`${key}share`] = "pod";
    hints[`${key}type`] = backing === "disk" ? "bind" : "tmpfs";
    hints[`${key}options`] = `rw,size=${sizeBytes}`;
  }
  return hints;
}
