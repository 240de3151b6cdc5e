import { generateKeyPairSync } from "node:crypto";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { desiredPod, desiredPodMetadata, isReservedKey, pvcName, wantsExecd } from "../../../../src/controllers/sandbox/desired-pod.js";
import { nameHash } from "../../../../src/controllers/shared/name-hash.js";
import { OperatorKeys } from "../../../../src/api/index.js";
import { podAcceptsEnvFrom } from "../../../../src/controllers/sandbox-claim/env-delivery-mode.js";
import { encodePublicKey, keyIdOfEncoded } from "../../../../src/execd-token/index.js";
import { makeSandbox, owner, testConfig } from "../fixtures.js";

/** App containers, then init containers (where the execution server sidecar runs). */
function containerNames(pod: V1Pod): string[] {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
}

function container(pod: V1Pod, name: string): V1Container {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

describe("desiredPodMetadata", () => {
  it("keeps user labels and annotations, drops reserved prefixes, adds managed-by and the name hash", () => {
    const sb = makeSandbox({
      name: "alpha",
      spec: {
        podTemplate: {
          metadata: {
            labels: {
              app: "agent",
              "agents.x-k8s.io/sandbox-name-hash": "spoofed",
              "agents.x-k8s.io/claim-uid": "spoofed",
              "extensions.agents.x-k8s.io/anything": "x",
            },
            annotations: { note: "hi", "agents.x-k8s.io/pod-name": "other", "extensions.agents.x-k8s.io/x": "y" },
          },
          spec: { containers: [{ name: "main", image: "busybox" }] },
        },
      },
    });
    expect(desiredPodMetadata(sb)).toEqual({
      labels: { app: "agent", "app.kubernetes.io/managed-by": "agent-sandbox-ts", "agents.x-k8s.io/sandbox-name-hash": nameHash("alpha") },
      annotations: { note: "hi" },
    });
  });

  it("inherits the pool, template, claim and launch labels from the Sandbox, and nothing else of its", () => {
    const sb = makeSandbox({
      labels: {
        "agents.x-k8s.io/warm-pool-sandbox": "pool-hash",
        "agents.x-k8s.io/sandbox-template-ref-hash": "tmpl-hash",
        "agents.x-k8s.io/sandbox-template-hash": "bp-hash",
        "agents.x-k8s.io/claim-uid": "claim-uid",
        "agents.x-k8s.io/launch-type": "warm",
        team: "not-inherited",
      },
    });
    expect(desiredPodMetadata(sb).labels).toEqual({
      "app.kubernetes.io/managed-by": "agent-sandbox-ts",
      "agents.x-k8s.io/sandbox-name-hash": nameHash("sb"),
      "agents.x-k8s.io/warm-pool-sandbox": "pool-hash",
      "agents.x-k8s.io/sandbox-template-ref-hash": "tmpl-hash",
      "agents.x-k8s.io/sandbox-template-hash": "bp-hash",
      "agents.x-k8s.io/claim-uid": "claim-uid",
      "agents.x-k8s.io/launch-type": "warm",
    });
  });

  it("gives empty maps when the pod template has no metadata", () => {
    expect(desiredPodMetadata(makeSandbox()).annotations).toEqual({});
  });

  it("recognises both reserved prefixes and nothing else", () => {
    expect(isReservedKey("agents.x-k8s.io/x")).toBe(true);
    expect(isReservedKey("extensions.agents.x-k8s.io/x")).toBe(true);
    expect(isReservedKey("sub.agents.x-k8s.io/x")).toBe(false);
    expect(isReservedKey("app")).toBe(false);
  });
});

describe("desiredPod", () => {
  it("names the pod after the sandbox, in its namespace, controlled by it", () => {
    const pod = desiredPod(makeSandbox({ name: "alpha" }), owner, testConfig);
    expect(pod.apiVersion).toBe("v1");
    expect(pod.kind).toBe("Pod");
    expect(pod.metadata?.name).toBe("alpha");
    expect(pod.metadata?.namespace).toBe("ns");
    expect(pod.metadata?.ownerReferences).toEqual([owner]);
    expect(pod.metadata?.labels?.["agents.x-k8s.io/sandbox-name-hash"]).toBe(nameHash("alpha"));
  });

  it("applies the secure defaults", () => {
    const pod = desiredPod(makeSandbox(), owner, testConfig);
    expect(pod.spec?.runtimeClassName).toBe("gvisor-test");
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.securityContext?.runAsUser).toBe(4321);
    expect(container(pod, "main").securityContext?.capabilities).toEqual({ drop: ["ALL"] });
  });

  describe("execd sidecar", () => {
    const pod = desiredPod(makeSandbox({ name: "alpha" }), owner, testConfig);
    const execd = container(pod, "sandbox-execd");

    it("is a native sidecar (a restartable init container), so a pod whose own containers end still finishes", () => {
      expect(pod.spec?.containers.map((c) => c.name)).toEqual(["main"]);
      expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(["sandbox-execd"]);
      expect(execd.restartPolicy).toBe("Always");
    });

    it("runs the configured image on the configured port, told its sandbox (namespace/name/uid) and every trusted token key", () => {
      expect(execd.image).toBe("example.test/execd:1");
      expect(execd.ports).toEqual([{ name: "execd", containerPort: 7777, protocol: "TCP" }]);
      expect(execd.args).toEqual([
        "--port",
        "7777",
        "--workspace",
        "/workspace",
        "--sandbox",
        "ns/alpha/uid-sb",
        "--trusted-key",
        "key-one",
        "--trusted-key",
        "key-two",
        "--boot-marker",
        "/tmp/.sandbox-execd-boots",
      ]);
    });

    it("names each sandbox's own uid, so a token for another sandbox (or an earlier one of the same name) is refused", () => {
      const recreated = makeSandbox({ name: "alpha" });
      recreated.metadata.uid = "uid-recreated";
      const other = container(desiredPod(recreated, owner, testConfig), "sandbox-execd");
      expect(other.args).toContain("ns/alpha/uid-recreated");
    });

    it("mounts no Secret and reads no token file: the pod holds nothing secret", () => {
      expect(pod.spec?.volumes?.some((v) => v.secret || v.projected)).toBe(false);
      expect(execd.args).not.toContain("--token-file");
      expect(execd.env ?? []).toEqual([]);
    });

    it("gets no trusted key when the operator has none (the server then refuses every call)", () => {
      const bare = container(desiredPod(makeSandbox({ name: "alpha" }), owner, { ...testConfig, execdTrustedKeys: [] }), "sandbox-execd");
      expect(bare.args).toContain("--sandbox");
      expect(bare.args).not.toContain("--trusted-key");
    });

    it("is probed for readiness on the exec port", () => {
      expect(execd.readinessProbe?.httpGet).toEqual({ path: "/", port: 7777 });
    });

    it("gets a sized workspace, a bounded /tmp and a sized /dev/shm as volumes", () => {
      expect(pod.spec?.volumes).toEqual([
        // 10% above the workspace's 2Gi: the kubelet's eviction is only the backstop.
        { name: "sandbox-workspace", emptyDir: { sizeLimit: String(Math.ceil(2 * 2 ** 30 * 1.1)) } },
        { name: "sandbox-execd-tmp", emptyDir: { medium: "Memory", sizeLimit: "256Mi" } },
        { name: "sandbox-shm", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      ]);
      expect(execd.volumeMounts).toEqual([
        { name: "sandbox-workspace", mountPath: "/workspace" },
        { name: "sandbox-execd-tmp", mountPath: "/tmp" },
        { name: "sandbox-shm", mountPath: "/dev/shm" },
      ]);
    });

    it("asks gVisor for a disk-kept workspace tmpfs and a memory /dev/shm of those sizes, shared by the pod", () => {
      expect(pod.metadata?.annotations).toMatchObject({
        "dev.gvisor.spec.mount.sandbox-workspace.share": "pod",
        "dev.gvisor.spec.mount.sandbox-workspace.type": "bind",
        "dev.gvisor.spec.mount.sandbox-workspace.options": `rw,size=${2 * 2 ** 30}`,
        "dev.gvisor.spec.mount.sandbox-shm.share": "pod",
        "dev.gvisor.spec.mount.sandbox-shm.type": "tmpfs",
        "dev.gvisor.spec.mount.sandbox-shm.options": `rw,size=${64 * 2 ** 20}`,
      });
      expect(Object.keys(pod.metadata?.annotations ?? {}).filter((k) => k.includes("sandbox-execd-tmp"))).toEqual([]);
    });

    it("overrides a template's hints for the volumes it adds, and keeps the template's others", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: {
            metadata: {
              annotations: {
                "dev.gvisor.spec.mount.sandbox-workspace.options": "rw,size=100g",
                "dev.gvisor.spec.mount.data.type": "tmpfs",
              },
            },
            spec: { containers: [{ name: "main", image: "a" }] },
          },
        },
      });
      const annotations = desiredPod(sb, owner, testConfig).metadata?.annotations;
      expect(annotations?.["dev.gvisor.spec.mount.sandbox-workspace.options"]).toBe(`rw,size=${2 * 2 ** 30}`);
      expect(annotations?.["dev.gvisor.spec.mount.data.type"]).toBe("tmpfs");
    });

    it("takes the sizes from the config, and leaves them out when they are empty", () => {
      const sized = desiredPod(makeSandbox(), owner, {
        ...testConfig,
        workspaceSizeLimit: "5Gi",
        tmpSizeLimit: "64Mi",
        shmSizeLimit: "1G",
      });
      expect(sized.spec?.volumes).toContainEqual({
        name: "sandbox-workspace",
        emptyDir: { sizeLimit: String(Math.ceil(5 * 2 ** 30 * 1.1)) },
      });
      expect(sized.spec?.volumes).toContainEqual({ name: "sandbox-execd-tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } });
      expect(sized.spec?.volumes).toContainEqual({ name: "sandbox-shm", emptyDir: { medium: "Memory", sizeLimit: "1G" } });
      expect(sized.metadata?.annotations?.["dev.gvisor.spec.mount.sandbox-workspace.options"]).toBe(`rw,size=${5 * 2 ** 30}`);
      expect(sized.metadata?.annotations?.["dev.gvisor.spec.mount.sandbox-shm.options"]).toBe("rw,size=1000000000");
      const unbounded = desiredPod(makeSandbox(), owner, { ...testConfig, workspaceSizeLimit: "", tmpSizeLimit: "", shmSizeLimit: "" });
      expect(unbounded.spec?.volumes?.map((v) => v.name)).toEqual(["sandbox-workspace"]);
      expect(unbounded.spec?.volumes?.[0]).toEqual({ name: "sandbox-workspace", emptyDir: {} });
      expect(container(unbounded, "sandbox-execd").volumeMounts?.map((m) => m.mountPath)).toEqual(["/workspace"]);
      expect(Object.keys(unbounded.metadata?.annotations ?? {}).filter((k) => k.startsWith("dev.gvisor."))).toEqual([]);
      // Without a pod-lifetime /tmp there is nowhere to count boots.
      expect(container(unbounded, "sandbox-execd").args).not.toContain("--boot-marker");
    });

    it("leaves a template's own /dev/shm alone", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: {
            spec: {
              containers: [{ name: "main", image: "a", volumeMounts: [{ name: "shm", mountPath: "/dev/shm" }] }],
              volumes: [{ name: "shm", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } }],
            },
          },
        },
      });
      const p = desiredPod(sb, owner, testConfig);
      expect(p.spec?.volumes?.map((v) => v.name)).not.toContain("sandbox-shm");
      expect(container(p, "sandbox-execd").volumeMounts?.map((m) => m.mountPath)).not.toContain("/dev/shm");
      expect(container(p, "main").volumeMounts).toEqual([
        { name: "shm", mountPath: "/dev/shm" },
        { name: "sandbox-workspace", mountPath: "/workspace" },
      ]);
      expect(Object.keys(p.metadata?.annotations ?? {}).filter((k) => k.includes("sandbox-shm"))).toEqual([]);
    });

    it("shares the workspace with the first container only, and /dev/shm with every container", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: {
            spec: {
              containers: [
                { name: "main", image: "a" },
                { name: "second", image: "b" },
              ],
            },
          },
        },
      });
      const p = desiredPod(sb, owner, testConfig);
      expect(container(p, "main").volumeMounts).toEqual([
        { name: "sandbox-workspace", mountPath: "/workspace" },
        { name: "sandbox-shm", mountPath: "/dev/shm" },
      ]);
      expect(container(p, "second").volumeMounts).toEqual([{ name: "sandbox-shm", mountPath: "/dev/shm" }]);
      expect(containerNames(p)).toEqual(["main", "second", "sandbox-execd"]);
    });

    it("keeps a user's own workspace volume and mount instead of adding another", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: {
            spec: {
              containers: [{ name: "main", image: "a", volumeMounts: [{ name: "sandbox-workspace", mountPath: "/workspace" }] }],
              volumes: [{ name: "sandbox-workspace", emptyDir: { medium: "Memory" } }],
            },
          },
        },
      });
      const p = desiredPod(sb, owner, testConfig);
      expect(p.spec?.volumes?.filter((v) => v.name === "sandbox-workspace")).toEqual([
        { name: "sandbox-workspace", emptyDir: { medium: "Memory" } },
      ]);
      expect(container(p, "main").volumeMounts).toEqual([
        { name: "sandbox-workspace", mountPath: "/workspace" },
        { name: "sandbox-shm", mountPath: "/dev/shm" },
      ]);
      // Not the operator's volume: no size is imposed on it.
      expect(Object.keys(p.metadata?.annotations ?? {}).filter((k) => k.includes("sandbox-workspace"))).toEqual([]);
    });

    it("gets the same hardening and resource limits as the user's containers (it runs the untrusted code)", () => {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        expect(c.securityContext, c.name).toMatchObject({
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(c.resources?.limits, c.name).toEqual(testConfig.defaultResources.limits);
        expect(c.resources?.requests, c.name).toEqual(testConfig.defaultResources.requests);
      }
      // Its one deliberate setting survives the defaults.
      expect(execd.securityContext?.readOnlyRootFilesystem).toBe(false);
    });

    it("is left out when the Sandbox opts out with agents.x-k8s.io/execd=false", () => {
      const sb = makeSandbox({ annotations: { "agents.x-k8s.io/execd": "false" } });
      const p = desiredPod(sb, owner, testConfig);
      expect(containerNames(p)).toEqual(["main"]);
      expect(p.spec?.volumes).toBeUndefined();
      expect(wantsExecd(sb, sb.spec.podTemplate.spec, testConfig)).toBe(false);
    });

    it("is left out when the pod template opts out", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: {
            metadata: { annotations: { "agents.x-k8s.io/execd": "false" } },
            spec: { containers: [{ name: "main", image: "busybox" }] },
          },
        },
      });
      expect(containerNames(desiredPod(sb, owner, testConfig))).toEqual(["main"]);
    });

    it("is injected for any other annotation value", () => {
      const sb = makeSandbox({ annotations: { "agents.x-k8s.io/execd": "true" } });
      expect(containerNames(desiredPod(sb, owner, testConfig))).toEqual(["main", "sandbox-execd"]);
    });

    it("is left out when a container already serves the exec port", () => {
      const sb = makeSandbox({
        spec: { podTemplate: { spec: { containers: [{ name: "runtime", image: "py", ports: [{ containerPort: 7777 }] }] } } },
      });
      const p = desiredPod(sb, owner, testConfig);
      expect(containerNames(p)).toEqual(["runtime"]);
      expect(wantsExecd(sb, sb.spec.podTemplate.spec, testConfig)).toBe(false);
    });

    it("is left out when an init container serves the exec port", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: {
            spec: {
              containers: [{ name: "main", image: "busybox" }],
              initContainers: [{ name: "side", image: "py", restartPolicy: "Always", ports: [{ containerPort: 7777 }] }],
            },
          },
        },
      });
      expect(containerNames(desiredPod(sb, owner, testConfig))).toEqual(["main", "side"]);
    });

    it("is still injected when a container uses a different port", () => {
      const sb = makeSandbox({
        spec: { podTemplate: { spec: { containers: [{ name: "web", image: "py", ports: [{ containerPort: 8888 }] }] } } },
      });
      expect(containerNames(desiredPod(sb, owner, testConfig))).toEqual(["web", "sandbox-execd"]);
    });
  });

  describe("volume claim templates", () => {
    const sb = makeSandbox({
      name: "alpha",
      annotations: { "agents.x-k8s.io/execd": "false" },
      spec: {
        podTemplate: {
          spec: {
            containers: [{ name: "main", image: "busybox" }],
            volumes: [
              { name: "data", emptyDir: {} },
              { name: "cache", emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } },
          { metadata: { name: "extra" }, spec: { accessModes: ["ReadWriteOnce"] } },
        ],
      },
    });

    it("replace same-named volumes with the sandbox's PVCs and add the others", () => {
      expect(desiredPod(sb, owner, testConfig).spec?.volumes).toEqual([
        { name: "cache", emptyDir: {} },
        { name: "data", persistentVolumeClaim: { claimName: "data-alpha" } },
        { name: "extra", persistentVolumeClaim: { claimName: "extra-alpha" } },
      ]);
      expect(pvcName("data", "alpha")).toBe("data-alpha");
    });

    it("do not change the Sandbox they came from", () => {
      const before = structuredClone(sb);
      desiredPod(sb, owner, testConfig);
      expect(sb).toEqual(before);
    });
  });

  describe("a pod that replaces one the node ended", () => {
    const notice = (p: ReturnType<typeof desiredPod>): string | undefined => {
      const args = container(p, "sandbox-execd").args ?? [];
      const at = args.indexOf("--restart-notice");
      return at < 0 ? undefined : args[at + 1];
    };

    it("tells its execution server how the old one ended, and that an emptyDir workspace starts empty", () => {
      const text = notice(desiredPod(makeSandbox(), owner, testConfig, "Pod failed: Evicted: low on disk"));
      expect(text).toContain("the previous one ended (Pod failed: Evicted: low on disk)");
      expect(text).toContain("/workspace starts empty");
    });

    it("says the files were kept when the workspace is the sandbox's PVC", () => {
      const sb = makeSandbox({
        spec: {
          podTemplate: { spec: { containers: [{ name: "main", image: "a" }] } },
          volumeClaimTemplates: [{ metadata: { name: "sandbox-workspace" }, spec: { accessModes: ["ReadWriteOnce"] } }],
        },
      });
      const p = desiredPod(sb, owner, testConfig, "Pod failed: Evicted");
      expect(p.spec?.volumes).toContainEqual({ name: "sandbox-workspace", persistentVolumeClaim: { claimName: "sandbox-workspace-sb" } });
      expect(notice(p)).toContain("files in /workspace were kept (it is a persistent volume)");
      // Not the operator's volume: no tmpfs hint for it.
      expect(Object.keys(p.metadata?.annotations ?? {}).filter((k) => k.includes("sandbox-workspace"))).toEqual([]);
    });

    it("a first pod's server gets no notice", () => {
      expect(notice(desiredPod(makeSandbox(), owner, testConfig))).toBeUndefined();
    });
  });
});

describe("the operator's environment key on the pod", () => {
  const envKey = encodePublicKey(generateKeyPairSync("ed25519").publicKey);

  it("tells the execution server the key and records its id on the pod, which a claim's env checks", () => {
    const pod = desiredPod(makeSandbox({ name: "alpha" }), owner, { ...testConfig, execdEnvTrustedKeys: [envKey] });
    const execd = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd");
    expect(execd?.args).toEqual(expect.arrayContaining(["--env-trusted-key", envKey]));
    expect(pod.metadata?.annotations?.[OperatorKeys.EnvKeys]).toBe(keyIdOfEncoded(envKey));
    expect(podAcceptsEnvFrom(pod, [envKey])).toBe(true);
    expect(podAcceptsEnvFrom(pod, [encodePublicKey(generateKeyPairSync("ed25519").publicKey)])).toBe(false);
  });

  it("sets neither without a key, and never takes the annotation from the pod template", () => {
    const sandbox = makeSandbox({ name: "alpha" });
    sandbox.spec.podTemplate.metadata = { annotations: { [OperatorKeys.EnvKeys]: keyIdOfEncoded(envKey) } };
    const pod = desiredPod(sandbox, owner, testConfig);
    expect(JSON.stringify(pod.spec)).not.toContain("--env-trusted-key");
    expect(pod.metadata?.annotations?.[OperatorKeys.EnvKeys]).toBeUndefined();
    expect(desiredPodMetadata(sandbox).annotations[OperatorKeys.EnvKeys]).toBeUndefined();
    expect(podAcceptsEnvFrom(pod, [envKey])).toBe(false);
  });
});
