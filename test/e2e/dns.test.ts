import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  clusterEnv,
  createNamespace,
  deleteNamespace,
  exec,
  podIP,
  toolboxPod,
  waitFor,
  waitPodReady,
  type ClusterEnv,
} from "./harness/cluster.js";

const resolveScript =
  "import socket, sys\ntry:\n    print(socket.gethostbyname(sys.argv[1]))\nexcept OSError as e:\n    print('ERR', e)\n    sys.exit(1)";

describe("cluster DNS (CoreDNS behind the kube-dns Service)", () => {
  let env: ClusterEnv;
  let ns: string;
  let serverIP: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-dns");
    await apply(
      env,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "stable", namespace: ns },
        spec: { clusterIP: "None", selector: { app: "named" }, ports: [{ name: "http", port: 8080 }] },
      }),
    );
    await apply(
      env,
      toolboxPod({
        name: "named",
        namespace: ns,
        image: env.toolboxImage,
        labels: { app: "named" },
        hostname: "box",
        subdomain: "stable",
        port: 8080,
        runtimeClassName: "gvisor",
      }),
    );
    await apply(env, toolboxPod({ name: "client", namespace: ns, image: env.toolboxImage, runtimeClassName: "gvisor" }));
    await Promise.all([waitPodReady(env, ns, "named"), waitPodReady(env, ns, "client")]);
    serverIP = await podIP(env, ns, "named");
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespace(env, ns);
  });

  const lookup = async (name: string): Promise<string> => {
    const r = await exec(env, ns, "client", ["python3", "-c", resolveScript, name]);
    return r.stdout.trim();
  };

  it("resolves a headless Service's stable pod hostname from a gVisor pod", async () => {
    const fqdn = `box.stable.${ns}.svc.cluster.local`;
    // The endpoint appears once the pod is Ready and CoreDNS has seen it.
    await waitFor(async () => (await lookup(fqdn)) === serverIP, 30_000, `${fqdn} -> ${serverIP}`);
    expect(await lookup(fqdn)).toBe(serverIP);
  });

  it("resolves the headless Service name itself to the pod", async () => {
    await waitFor(async () => (await lookup(`stable.${ns}.svc.cluster.local`)) === serverIP, 30_000, "headless service A record");
    // Short names work through the pod's search path, as on any cluster.
    expect(await lookup("stable")).toBe(serverIP);
  });

  it("answers NXDOMAIN for a name that does not exist", async () => {
    const r = await exec(env, ns, "client", ["python3", "-c", resolveScript, `nothing-here.${ns}.svc.cluster.local`]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("ERR");
  });

  it("reaches the API server through the kubernetes Service ClusterIP (kube-proxy)", async () => {
    const script =
      "import socket\ns = socket.create_connection(('kubernetes.default.svc.cluster.local', 443), timeout=5)\nprint('connected')";
    const r = await exec(env, ns, "client", ["python3", "-c", script]);
    expect(r.stdout.trim()).toBe("connected");
  });
});
