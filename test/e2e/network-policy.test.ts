import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  clusterEnv,
  createNamespace,
  deleteNamespace,
  exec,
  kubectl,
  podIP,
  toolboxPod,
  waitFor,
  waitPodReady,
  type ClusterEnv,
} from "./harness/cluster.js";

// Exit 0 when a TCP connection to host:port opens within 2 s.
const connectScript =
  "import socket, sys\ntry:\n    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()\nexcept OSError:\n    sys.exit(1)";

describe("NetworkPolicy enforcement", () => {
  let env: ClusterEnv;
  let ns: string;
  let serverIP: string;
  let strangerIP: string;

  const canConnect = async (from: string, ip: string, port = 8080): Promise<boolean> =>
    (await exec(env, ns, from, ["python3", "-c", connectScript, ip, String(port)])).code === 0;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-netpol");
    // Two listeners, so a blocked port is blocked by policy and not by nothing listening.
    const server = ["sh", "-c", "cd /tmp && python3 -m http.server 8081 & cd /tmp && exec python3 -m http.server 8080"];
    await apply(
      env,
      toolboxPod({
        name: "server",
        namespace: ns,
        image: env.toolboxImage,
        labels: { app: "server" },
        command: server,
        port: 8080,
        runtimeClassName: "gvisor",
      }),
    );
    await apply(
      env,
      toolboxPod({ name: "allowed", namespace: ns, image: env.toolboxImage, labels: { role: "client" }, runtimeClassName: "gvisor" }),
    );
    await apply(
      env,
      toolboxPod({
        name: "stranger",
        namespace: ns,
        image: env.toolboxImage,
        labels: { role: "other" },
        command: server,
        port: 8080,
        runtimeClassName: "gvisor",
      }),
    );
    await Promise.all(["server", "allowed", "stranger"].map((p) => waitPodReady(env, ns, p)));
    serverIP = await podIP(env, ns, "server");
    strangerIP = await podIP(env, ns, "stranger");
    // Without policies everything connects: the later refusals come from the policies.
    await waitFor(
      async () =>
        (await canConnect("allowed", serverIP)) &&
        (await canConnect("allowed", serverIP, 8081)) &&
        (await canConnect("stranger", serverIP)) &&
        (await canConnect("server", strangerIP)),
      30_000,
      "open network before policies",
    );
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespace(env, ns);
  });

  it("deny-all blocks pod-to-pod traffic while an ingress rule lets the labelled client through", async () => {
    await apply(
      env,
      JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "deny-all", namespace: ns },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      }),
    );
    await apply(
      env,
      JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "server-from-clients", namespace: ns },
        spec: {
          podSelector: { matchLabels: { app: "server" } },
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ protocol: "TCP", port: "http" }] }],
        },
      }),
    );
    await apply(
      env,
      JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "clients-to-server", namespace: ns },
        spec: {
          podSelector: { matchLabels: { role: "client" } },
          policyTypes: ["Egress"],
          egress: [{ to: [{ podSelector: { matchLabels: { app: "server" } } }], ports: [{ protocol: "TCP", port: 8080 }] }],
        },
      }),
    );
    await waitFor(async () => !(await canConnect("stranger", serverIP)), 30_000, "stranger blocked from server");
    expect(await canConnect("allowed", serverIP)).toBe(true);
    expect(await canConnect("stranger", serverIP)).toBe(false);
  });

  it("blocks traffic the allow rules do not name: other ports and the reverse direction", async () => {
    // The server's egress is denied by deny-all (and the stranger's ingress too).
    expect(await canConnect("server", strangerIP)).toBe(false);
    // The server listens on 8081 as well, but the rules only name 8080.
    expect(await canConnect("allowed", serverIP, 8081)).toBe(false);
  });

  it("opens the stranger again once the deny-all policy is removed", async () => {
    const del = await kubectl(env, ["-n", ns, "delete", "networkpolicy", "deny-all", "server-from-clients"]);
    expect(del.code).toBe(0);
    await waitFor(async () => canConnect("stranger", serverIP), 30_000, "stranger allowed after policies are removed");
    expect(await canConnect("stranger", serverIP)).toBe(true);
  });
});
