import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  clusterEnv,
  createNamespace,
  deleteNamespace,
  exec,
  kubectlOk,
  toolboxPod,
  waitPodReady,
  type ClusterEnv,
} from "./harness/cluster.js";

describe("RuntimeClass gvisor on the local cluster", () => {
  let env: ClusterEnv;
  let ns: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-gvisor");
    await apply(env, toolboxPod({ name: "sandboxed", namespace: ns, image: env.toolboxImage, runtimeClassName: "gvisor" }));
    await apply(env, toolboxPod({ name: "plain", namespace: ns, image: env.toolboxImage }));
    await Promise.all([waitPodReady(env, ns, "sandboxed"), waitPodReady(env, ns, "plain")]);
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespace(env, ns);
  });

  it("exists with the runsc handler", async () => {
    const handler = await kubectlOk(env, ["get", "runtimeclass", "gvisor", "-o", "jsonpath={.handler}"]);
    expect(handler).toBe("runsc");
  });

  it("runs the pod under gVisor: its kernel log is gVisor's", async () => {
    const pod = JSON.parse(await kubectlOk(env, ["-n", ns, "get", "pod", "sandboxed", "-o", "json"])) as {
      spec: { runtimeClassName?: string };
      status: { phase: string };
    };
    expect(pod.spec.runtimeClassName).toBe("gvisor");
    expect(pod.status.phase).toBe("Running");
    const dmesg = await exec(env, ns, "sandboxed", ["dmesg"]);
    expect(dmesg.code).toBe(0);
    expect(dmesg.stdout).toContain("Starting gVisor");
  });

  it("runs a pod without the RuntimeClass on the host kernel (the check above can fail)", async () => {
    const sandboxed = await exec(env, ns, "sandboxed", ["cat", "/proc/version"]);
    const plain = await exec(env, ns, "plain", ["cat", "/proc/version"]);
    expect(plain.code).toBe(0);
    expect(sandboxed.stdout.trim()).not.toBe(plain.stdout.trim());
    // Unprivileged dmesg on the host kernel is refused or shows no gVisor banner.
    const dmesg = await exec(env, ns, "plain", ["dmesg"]);
    expect(dmesg.stdout).not.toContain("Starting gVisor");
  });

  it("runs Python inside the gVisor pod as the non-root user", async () => {
    const r = await exec(env, ns, "sandboxed", [
      "python3",
      "-c",
      "import os, pandas; print(os.getuid(), pandas.DataFrame({'a': [1, 2]}).a.sum())",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("1000 3");
  });
});
