// From the attacker's side: code in a sandbox tries the cloud metadata service (where node
// credentials live on GKE, EKS and AKS), and the installed pods are checked for running as
// non-root with read-only root filesystems wherever the workload allows it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, exec, kubectl, toolboxPod, waitPodReady, type ClusterEnv } from "../harness/cluster.js";
import { agentToken, deleteNamespaceAndWait, executeOk, getJson, isReady, list, OPERATOR_NS, routerUrl, sandboxManifest, waitReady, type KObject } from "./helpers.js";

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}

interface PodJson extends KObject {
  spec: {
    securityContext?: SecurityContext;
    containers: { name: string; securityContext?: SecurityContext }[];
    initContainers?: { name: string; securityContext?: SecurityContext }[];
  };
}

/** The metadata endpoints of the big clouds: GCE/EKS/AKS/OCI share the link-local address. */
const METADATA: [string, number][] = [
  ["169.254.169.254", 80], // GCE (metadata.google.internal), AWS IMDS, Azure IMDS, OCI
  ["169.254.169.254", 443],
  ["169.254.170.2", 80], // AWS ECS task credentials
  ["100.100.100.200", 80], // Alibaba Cloud
];

// Tries each TCP target (2 s), an HTTP GET of the GCE metadata path, and resolving
// metadata.google.internal; prints {"host:port": bool, "http": str, "dns": str}.
const metadataProbe = (targets: [string, number][]): string => `
import json, socket, threading, urllib.request
targets = ${JSON.stringify(targets)}
out = {}
def attempt(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        out[f"{host}:{port}"] = True
    except OSError:
        out[f"{host}:{port}"] = False
threads = [threading.Thread(target=attempt, args=t) for t in targets]
for t in threads: t.start()
for t in threads: t.join()
try:
    req = urllib.request.Request("http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token", headers={"Metadata-Flavor": "Google"})
    out["http"] = "answered %d" % urllib.request.urlopen(req, timeout=3).status
except urllib.error.HTTPError as e:
    out["http"] = "answered %d" % e.code
except Exception as e:
    out["http"] = "failed: " + type(e).__name__
try:
    out["dns"] = "resolved " + socket.gethostbyname("metadata.google.internal")
except OSError as e:
    out["dns"] = "failed: " + type(e).__name__
print(json.dumps(out))
`;

describe("the attacker's side", () => {
  let env: ClusterEnv;
  let ns: string;
  let router: string;
  let token: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "bomb-attacker");
    await apply(env, sandboxManifest({ name: "mallory", namespace: ns, image: env.runtimeImage }));
    // The control: a pod no policy selects, on the same node and runtime.
    await apply(env, toolboxPod({ name: "control", namespace: ns, image: env.toolboxImage, runtimeClassName: "gvisor" }));
    token = await agentToken(env, ns, "agent", true);
    await Promise.all([waitReady(env, ns, "sandbox", "mallory"), waitPodReady(env, ns, "control")]);
    router = await routerUrl(env);
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("cloud metadata addresses are unreachable from inside a sandbox (TCP, the GCE token URL, and its DNS name)", async () => {
    const fromSandbox = JSON.parse(await executeOk(router, ns, "mallory", metadataProbe(METADATA), token)) as Record<string, boolean | string>;
    for (const [host, port] of METADATA) expect(fromSandbox[`${host}:${port}`], `mallory -> ${host}:${port}`).toBe(false);
    expect(fromSandbox["http"]).toMatch(/^failed/);
    expect(fromSandbox["dns"]).toMatch(/^failed/);

    // Where the machine has a metadata service, the control reaches it: then the refusals
    // above are the policy's doing. (On a machine without one they hold trivially.)
    const control = await exec(env, ns, "control", ["python3", "-c", metadataProbe(METADATA)]);
    expect(control.code).toBe(0);
    console.log(`[attacker] metadata from an unrestricted pod: ${control.stdout.trim()}`);
  });

  it("the operator's and router's pods run non-root with read-only root filesystems, no privilege escalation and no capabilities", async () => {
    const pods = (await list(env, OPERATOR_NS, "pod")) as PodJson[];
    const running = pods.filter((p) => isReady(p) && !p.metadata.deletionTimestamp);
    expect(running.map((p) => p.metadata.name).join(",")).toMatch(/operator/);
    expect(running.map((p) => p.metadata.name).join(",")).toMatch(/router/);
    for (const pod of running) {
      const podContext = pod.spec.securityContext ?? {};
      for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
        const sc = { ...podContext, ...c.securityContext };
        const where = `${pod.metadata.name}/${c.name}`;
        expect(sc.runAsNonRoot, where).toBe(true);
        expect(sc.runAsUser ?? 1, where).not.toBe(0);
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.privileged ?? false, where).toBe(false);
        expect(c.securityContext?.capabilities?.drop, where).toContain("ALL");
        expect(c.securityContext?.capabilities?.add ?? [], where).toEqual([]);
      }
      // And in fact: the process is not root and cannot write its root filesystem.
      const name = pod.spec.containers[0]!.name;
      const probe = await kubectl(env, [
        "-n",
        OPERATOR_NS,
        "exec",
        pod.metadata.name,
        "-c",
        name,
        "--",
        "/usr/local/bin/node",
        "-e",
        "let w; try { require('fs').writeFileSync('/probe', 'x'); w = 'wrote' } catch (e) { w = e.code } console.log(process.getuid(), w)",
      ]);
      expect(probe.code, `${pod.metadata.name}: ${probe.stderr}`).toBe(0);
      const [uid, write] = probe.stdout.trim().split(" ");
      expect(Number(uid), pod.metadata.name).not.toBe(0);
      expect(write, pod.metadata.name).toBe("EROFS");
    }
  });

  it("sandbox code runs as uid 1000 and cannot modify the execution server or the image (its own writes stay in gVisor's overlay)", async () => {
    const pod = (await getJson<PodJson>(env, ns, "pod", "mallory")) as PodJson;
    expect(pod.spec.securityContext?.runAsNonRoot).toBe(true);
    for (const c of pod.spec.containers) expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
    const out = JSON.parse(
      await executeOk(
        router,
        ns,
        "mallory",
        "import json, os\nprint(json.dumps({'uid': os.getuid(), 'euid': os.geteuid(), 'writable': [p for p in ['/app/dist/execd/main.js', '/app/src/execd/kernels/python_driver.py', '/usr/local/bin/node', '/usr/bin/python3', '/etc/passwd', '/'] if os.access(p, os.W_OK)]}))",
        token,
      ),
    ) as { uid: number; euid: number; writable: string[] };
    expect(out.uid).toBe(1000);
    expect(out.euid).toBe(1000);
    expect(out.writable).toEqual([]);
  });
});
