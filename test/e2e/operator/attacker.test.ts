// From the attacker's side: code in a sandbox tries a cloud metadata server (where node
// credentials live on GKE, EKS and AKS), a host beyond the node, the node and the cluster, and
// the installed pods are checked for running as non-root with read-only root filesystems
// wherever the workload allows it. Every target is a stand-in the test starts on this machine
// (harness/stand-ins.ts); an unrestricted pod on the same node reaches each one, so every
// refusal is the NetworkPolicy's doing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  clusterEnv,
  createNamespace,
  exec,
  kubectl,
  kubectlOk,
  toolboxPod,
  waitFor,
  waitPodReady,
  type ClusterEnv,
} from "../harness/cluster.js";
import {
  fakeMetadataToken,
  key,
  metadataTokenPath,
  probeScript,
  startStandIns,
  type Endpoint,
  type StandIns,
} from "../harness/stand-ins.js";
import {
  agentToken,
  deleteNamespaceAndWait,
  EXT_API,
  executeOk,
  getJson,
  isReady,
  list,
  mainPodSpec,
  OPERATOR_NS,
  routerUrl,
  sandboxManifest,
  waitReady,
  type KObject,
} from "./helpers.js";

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

describe("the attacker's side", () => {
  let env: ClusterEnv;
  let ns: string;
  let router: string;
  let token: string;
  let standIns: StandIns;
  let everything: Endpoint[];
  let metadataUrl: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "bomb-attacker");
    await apply(env, sandboxManifest({ name: "mallory", namespace: ns, image: env.runtimeImage }));
    // The control: a pod no policy selects, on the same node and runtime.
    await apply(env, toolboxPod({ name: "control", namespace: ns, image: env.toolboxImage, runtimeClassName: "gvisor" }));
    // A template that opens egress to every address; the operator still carves out cloud metadata.
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxTemplate",
        metadata: { name: "open-egress", namespace: ns },
        spec: {
          podTemplate: { spec: mainPodSpec(env.runtimeImage) },
          networkPolicy: { egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] },
        },
      }),
    );
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxWarmPool",
        metadata: { name: "open-egress", namespace: ns },
        spec: { replicas: 1, sandboxTemplateRef: { name: "open-egress" } },
      }),
    );
    token = await agentToken(env, ns, "agent", true);
    await Promise.all([waitReady(env, ns, "sandbox", "mallory"), waitPodReady(env, ns, "control")]);
    router = await routerUrl(env);

    const nodeIP = (
      await kubectlOk(env, ["get", "nodes", "-o", 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}'])
    ).trim();
    const apiServiceIP = (
      await kubectlOk(env, ["-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"])
    ).trim();
    const dnsIP = (await kubectlOk(env, ["-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    standIns = await startStandIns(nodeIP);
    metadataUrl = `http://${standIns.metadata.ip}${metadataTokenPath}`;
    everything = [
      standIns.metadata,
      standIns.remote,
      standIns.node,
      { ip: apiServiceIP, port: 443 }, // the API server through its Service
      { ip: nodeIP, port: 6443 }, // the API server on the node
      { ip: nodeIP, port: 10250 }, // the kubelet
      { ip: dnsIP, port: 53 }, // CoreDNS
    ];
  });

  afterAll(async () => {
    // The pods first: they must not outlive the listeners they talked to.
    if (env && ns) await deleteNamespaceAndWait(env, ns);
    await standIns?.close();
  });

  it("from an unrestricted pod on the same node every stand-in answers, the metadata look-alike with its token", async () => {
    const control = await exec(env, ns, "control", ["python3", "-c", probeScript(everything, metadataUrl)]);
    expect(control.code, control.stderr).toBe(0);
    const seen = JSON.parse(control.stdout) as Record<string, boolean | string>;
    for (const target of everything) expect(seen[key(target)], `control -> ${key(target)}`).toBe(true);
    expect(seen["http"]).toBe(`answered 200: ${JSON.stringify({ access_token: fakeMetadataToken, token_type: "Bearer" })}`);
  });

  it("from inside a sandbox the metadata look-alike (TCP and its token URL), a host beyond the node, the node and the cluster are all unreachable", async () => {
    const fromSandbox = JSON.parse(await executeOk(router, ns, "mallory", probeScript(everything, metadataUrl), token)) as Record<
      string,
      boolean | string
    >;
    for (const target of everything) expect(fromSandbox[key(target)], `mallory -> ${key(target)}`).toBe(false);
    expect(fromSandbox["http"]).toMatch(/^failed/);
  });

  it("a template that allows egress to 0.0.0.0/0 reaches the host beyond the node, but never the metadata range", async () => {
    const policy = JSON.parse(await kubectlOk(env, ["-n", ns, "get", "networkpolicy", "open-egress-network-policy", "-o", "json"])) as {
      spec: { egress: { to: { ipBlock?: { cidr: string; except?: string[] } }[] }[] };
    };
    expect(policy.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16", "100.100.100.200/32"] } }] }]);
    let member = "";
    await waitFor(
      async () => {
        // The pool's one member: the only sandbox in the namespace besides mallory.
        member = (await list(env, ns, "sandbox")).find((s) => s.metadata.name !== "mallory" && isReady(s))?.metadata.name ?? "";
        return member !== "";
      },
      150_000,
      "a Ready member of the open-egress pool",
    );
    const targets = [standIns.remote, standIns.metadata];
    const seen = JSON.parse(await executeOk(router, ns, member, probeScript(targets, metadataUrl), token)) as Record<
      string,
      boolean | string
    >;
    expect(seen[key(standIns.remote)], `${member} -> remote stand-in`).toBe(true);
    expect(seen[key(standIns.metadata)], `${member} -> metadata stand-in`).toBe(false);
    expect(seen["http"]).toMatch(/^failed/);
  });

  it("the operator's and router's pods run non-root with read-only root filesystems, no privilege escalation and no capabilities", async () => {
    const pods = (await list(env, OPERATOR_NS, "pod")) as PodJson[];
    const running = pods.filter((p) => isReady(p) && !p.metadata.deletionTimestamp);
    expect(running.map((p) => p.metadata.name).join(",")).toMatch(/controller/);
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
        "import json, os\nprint(json.dumps({'uid': os.getuid(), 'euid': os.geteuid(), 'writable': [p for p in ['/app/dist/execd-bundle/sandbox-execd.mjs', '/app/src/execd/kernels/python_driver.py', '/usr/local/bin/node', '/usr/bin/python3', '/etc/passwd', '/'] if os.access(p, os.W_OK)]}))",
        token,
      ),
    ) as { uid: number; euid: number; writable: string[] };
    expect(out.uid).toBe(1000);
    expect(out.euid).toBe(1000);
    expect(out.writable).toEqual([]);
  });
});
