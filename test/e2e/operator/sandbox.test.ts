// A Sandbox applied with kubectl, as a user would: the installed operator must run it under
// gVisor with the restricted pod shape, give it a resolvable stable hostname, fence it with
// its deny-all NetworkPolicy, and the router must let only authorized agents execute in it.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  clusterEnv,
  createNamespace,
  exec,
  kubectlOk,
  podIP,
  toolboxPod,
  waitFor,
  waitPodReady,
  type ClusterEnv,
} from "../harness/cluster.js";
import { probeScript as standInProbe, startStandIns } from "../harness/stand-ins.js";
import {
  agentToken,
  deleteNamespaceAndWait,
  execute,
  executeOk,
  getJson,
  routerUrl,
  sandboxManifest,
  waitReady,
  type KObject,
} from "./helpers.js";

interface PodJson extends KObject {
  spec: {
    runtimeClassName?: string;
    automountServiceAccountToken?: boolean;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
    containers: ContainerJson[];
    initContainers?: (ContainerJson & { restartPolicy?: string })[];
  };
}

interface ContainerJson {
  name: string;
  securityContext?: { allowPrivilegeEscalation?: boolean; privileged?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

const probeScript = (targets: [string, number][]): string => standInProbe(targets.map(([ip, port]) => ({ ip, port })));

describe("a Sandbox applied with kubectl, on the real cluster", () => {
  let env: ClusterEnv;
  let ns: string;
  let router: string;
  let token: string;
  let unprivilegedToken: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-sandbox");
    await apply(env, sandboxManifest({ name: "alpha", namespace: ns, image: env.runtimeImage, service: true }));
    await apply(env, sandboxManifest({ name: "bravo", namespace: ns, image: env.runtimeImage }));
    // An ordinary pod no policy selects: the DNS client, and the control for the network checks.
    await apply(env, toolboxPod({ name: "probe", namespace: ns, image: env.toolboxImage, runtimeClassName: "gvisor" }));
    [token, unprivilegedToken] = await Promise.all([agentToken(env, ns, "agent", true), agentToken(env, ns, "stranger", false)]);
    await Promise.all([waitReady(env, ns, "sandbox", "alpha"), waitReady(env, ns, "sandbox", "bravo"), waitPodReady(env, ns, "probe")]);
    router = await routerUrl(env);
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("runs the sandbox's pod under runsc: the kernel the execd sidecar sees is gVisor's", async () => {
    const pod = (await getJson<PodJson>(env, ns, "pod", "alpha")) as PodJson;
    expect(pod.spec.runtimeClassName).toBe("gvisor");
    expect(pod.status?.phase).toBe("Running");
    expect(pod.metadata.ownerReferences?.find((o) => o.controller)).toMatchObject({ kind: "Sandbox", name: "alpha" });

    const out = await executeOk(
      router,
      ns,
      "alpha",
      "import json, os, subprocess\nprint(json.dumps({'version': open('/proc/version').read(), 'dmesg': subprocess.run(['dmesg'], capture_output=True, text=True).stdout, 'uid': os.getuid()}))",
      token,
    );
    const facts = JSON.parse(out) as { version: string; dmesg: string; uid: number };
    expect(facts.dmesg).toContain("Starting gVisor");
    expect(facts.uid).toBe(1000);
    // The host kernel is a different one: the sandbox sees gVisor's emulated version string.
    const hostVersion = readFileSync("/proc/version", "utf8");
    expect(facts.version.trim()).not.toBe(hostVersion.trim());
  });

  it("has the restricted securityContext and resource limits, and no capabilities inside", async () => {
    const pod = (await getJson<PodJson>(env, ns, "pod", "alpha")) as PodJson;
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    // The execution server runs as a native sidecar (a restartable init container).
    expect(pod.spec.containers.map((c) => c.name)).toEqual(["main"]);
    expect((pod.spec.initContainers ?? []).map((c) => [c.name, c.restartPolicy])).toEqual([["sandbox-execd", "Always"]]);
    for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.privileged ?? false, c.name).toBe(false);
      expect(c.securityContext?.capabilities?.drop, c.name).toContain("ALL");
      expect(c.securityContext?.capabilities?.add ?? [], c.name).toEqual([]);
      expect(c.resources?.limits?.["cpu"], c.name).toBeTruthy();
      expect(c.resources?.limits?.["memory"], c.name).toBeTruthy();
    }
    const main = pod.spec.containers.find((c) => c.name === "main");
    expect(main?.resources?.limits).toMatchObject({ cpu: "500m", memory: "256Mi" });

    const status = await executeOk(router, ns, "alpha", "print(open('/proc/self/status').read())", token);
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    expect(capEff).toBeDefined();
    expect(BigInt(`0x${capEff ?? "1"}`)).toBe(0n);
    // gVisor does not report NoNewPrivs; the empty bounding set means no way back to a capability.
    const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    expect(BigInt(`0x${capBnd ?? "1"}`)).toBe(0n);
  });

  it("spec.service: the headless Service resolves status.serviceFQDN through CoreDNS from another pod", async () => {
    const sandbox = await getJson(env, ns, "sandbox", "alpha");
    const fqdn = sandbox?.status?.serviceFQDN;
    expect(fqdn).toBe(`alpha.${ns}.svc.cluster.local`);
    const svc = JSON.parse(await kubectlOk(env, ["-n", ns, "get", "service", "alpha", "-o", "json"])) as { spec: { clusterIP: string } };
    expect(svc.spec.clusterIP).toBe("None");

    const expected = await podIP(env, ns, "alpha");
    const resolve = async (): Promise<string> =>
      (
        await exec(env, ns, "probe", ["python3", "-c", "import socket, sys; print(socket.gethostbyname(sys.argv[1]))", fqdn ?? ""])
      ).stdout.trim();
    // Endpoints reach CoreDNS asynchronously; the answer itself is what is asserted.
    await waitFor(async () => (await resolve()) === expected, 30_000, `${fqdn} to resolve to ${expected}`).catch(() => undefined);
    expect(await resolve()).toBe(expected);
    // A sandbox without spec.service gets no name.
    expect(await getJson(env, ns, "service", "bravo")).toBeUndefined();
  });

  it("NetworkPolicy, from the attacker's side: sandbox alpha reaches nothing, while the router reaches execd", async () => {
    const policy = JSON.parse(await kubectlOk(env, ["-n", ns, "get", "networkpolicy", "alpha", "-o", "json"])) as {
      spec: { policyTypes: string[]; egress?: unknown[] };
    };
    expect(policy.spec.policyTypes.sort()).toEqual(["Egress", "Ingress"]);
    expect(policy.spec.egress ?? []).toEqual([]);

    const bravoIP = await podIP(env, ns, "bravo");
    const apiServiceIP = (
      await kubectlOk(env, ["-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"])
    ).trim();
    const dnsIP = (await kubectlOk(env, ["-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    const nodeIP = (
      await kubectlOk(env, ["get", "nodes", "-o", 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}'])
    ).trim();
    const inCluster: [string, number][] = [
      [apiServiceIP, 443], // the API server through its Service
      [nodeIP, 6443], // the API server on the node
      [nodeIP, 10250], // the kubelet
      [dnsIP, 53], // CoreDNS
    ];
    // Beyond the cluster: a host past the node and a canary on the node's own IP, both
    // stand-ins this test starts on this machine.
    const standIns = await startStandIns(nodeIP);
    try {
      const beyond: [string, number][] = [
        [standIns.remote.ip, standIns.remote.port],
        [standIns.node.ip, standIns.node.port],
      ];
      const targets: [string, number][] = [...inCluster, ...beyond, [bravoIP, 8888]];

      // The execute call itself is the router reaching alpha's execution port.
      const fromAlpha = JSON.parse(await executeOk(router, ns, "alpha", probeScript(targets), token)) as Record<string, boolean>;
      for (const [host, port] of targets) expect(fromAlpha[`${host}:${port}`], `alpha -> ${host}:${port}`).toBe(false);

      // Control: the same targets are open from a pod no policy selects, so the refusals
      // above come from the policy and not from nothing listening there.
      const control = await exec(env, ns, "probe", ["python3", "-c", probeScript([...inCluster, ...beyond])]);
      expect(control.code).toBe(0);
      const fromProbe = JSON.parse(control.stdout) as Record<string, boolean>;
      for (const [host, port] of [...inCluster, ...beyond]) expect(fromProbe[`${host}:${port}`], `probe -> ${host}:${port}`).toBe(true);
    } finally {
      await standIns.close();
    }
    // bravo's execd listens: the router reaches it.
    expect(await executeOk(router, ns, "bravo", "print('bravo up')", token)).toContain("bravo up");
  });

  it("NetworkPolicy ingress: a sandbox's execd port admits the router only, not another (unrestricted) pod", async () => {
    // alpha's own egress deny already stops alpha -> bravo; this checks bravo's ingress rule alone.
    const bravoIP = await podIP(env, ns, "bravo");
    const r = await exec(env, ns, "probe", ["python3", "-c", probeScript([[bravoIP, 8888]])]);
    expect(r.code).toBe(0);
    const probeToBravo = JSON.parse(r.stdout) as Record<string, boolean>;
    expect(probeToBravo[`${bravoIP}:8888`], `probe -> bravo ${bravoIP}:8888`).toBe(false);
    expect(await executeOk(router, ns, "bravo", "print('router ok')", token)).toContain("router ok");
  });

  it("router auth: no token is 401, a token without RBAC on sandboxes/exec is 403, the agent's token is 200", async () => {
    const none = await execute(router, ns, "alpha", "print(1)");
    expect(none.status).toBe(401);
    const garbage = await execute(router, ns, "alpha", "print(1)", "not-a-token");
    expect(garbage.status).toBe(401);
    const forbidden = await execute(router, ns, "alpha", "print(1)", unprivilegedToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.stdout).toBeUndefined();
    const allowed = await execute(router, ns, "alpha", "print(6 * 7)", token);
    expect(allowed.status).toBe(200);
    expect(allowed.body.stdout?.trim()).toBe("42");
  });
});
