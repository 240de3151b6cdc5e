// Our own config loader and connection against the real API server: who the server thinks we
// are (SelfSubjectReview) for each credential kind, that TLS is really verified, that a rotated
// service account token is picked up, and that an exec plugin's rejected token is fetched again.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../../src/runtime/connection.js";
import { ApiError } from "../../../src/runtime/errors.js";
import { Kube } from "../../../src/runtime/kube.js";
import { loadInClusterConfig, loadKubeConfigFiles } from "../../../src/runtime/kubeconfig.js";
import { clusterInfo, freshNamespace, testKube, userToken } from "../harness/cluster.js";

const admin = testKube();
const opened: Connection[] = [];
let dir = "";
let ns = "";

function kubeFrom(c: Connection): Kube {
  opened.push(c);
  return new Kube(c);
}

async function whoAmI(kube: Kube): Promise<string> {
  const review = await kube.request<KubernetesObject & { status?: { userInfo?: { username?: string } } }>(
    "POST",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    },
  );
  return review.status?.userInfo?.username ?? "";
}

function writeKubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server: clusterInfo().server, ...cluster } }],
      users: [{ name: "me", user }],
      contexts: [{ name: "test", context: { cluster: "test", user: "me" } }],
      "current-context": "test",
    }),
  );
  return file;
}

async function serviceAccountToken(name: string): Promise<string> {
  await admin.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
  const tr = await admin.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  return tr.status.token;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "connection-it-"));
  ns = await freshNamespace("connection");
});
afterAll(() => {
  for (const c of opened.splice(0)) c.close();
});

describe("connection from our own kubeconfig loader", () => {
  it("authenticates with a token and verifies the server against the kubeconfig's CA", async () => {
    const kube = kubeFrom(connect(loadKubeConfigFiles([clusterInfo().kubeconfig])));
    expect(await whoAmI(kube)).toBe("admin");
    const alice = kubeFrom(
      connect(
        loadKubeConfigFiles([writeKubeconfig("alice", { "certificate-authority": clusterInfo().caFile }, { token: userToken("alice") })]),
      ),
    );
    expect(await whoAmI(alice)).toBe("alice");
  });

  it("refuses a server its CA does not vouch for, unless verification is skipped; a wrong tls-server-name fails too", async () => {
    const noCa = kubeFrom(connect(loadKubeConfigFiles([writeKubeconfig("no-ca", {}, { token: userToken("alice") })])));
    await expect(whoAmI(noCa)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    const skip = kubeFrom(
      connect(loadKubeConfigFiles([writeKubeconfig("skip", { "insecure-skip-tls-verify": true }, { token: userToken("alice") })])),
    );
    expect(await whoAmI(skip)).toBe("alice");
    const named = kubeFrom(
      connect(
        loadKubeConfigFiles([
          writeKubeconfig(
            "named",
            { "certificate-authority": clusterInfo().caFile, "tls-server-name": "kubernetes.default" },
            { token: userToken("alice") },
          ),
        ]),
      ),
    );
    expect(await whoAmI(named)).toBe("alice");
    const wrongName = kubeFrom(
      connect(
        loadKubeConfigFiles([
          writeKubeconfig(
            "wrong-name",
            { "certificate-authority": clusterInfo().caFile, "tls-server-name": "elsewhere.example" },
            { token: userToken("alice") },
          ),
        ]),
      ),
    );
    await expect(whoAmI(wrongName)).rejects.toThrow(/elsewhere\.example|altnames|does not match/i);
  });

  it("authenticates with a client certificate signed by the cluster CA", async () => {
    const caDir = path.dirname(clusterInfo().caFile);
    const key = path.join(dir, "carol.key");
    const csr = path.join(dir, "carol.csr");
    const crt = path.join(dir, "carol.crt");
    execFileSync("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=carol/O=testers"], {
      stdio: "ignore",
    });
    execFileSync(
      "openssl",
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        clusterInfo().caFile,
        "-CAkey",
        path.join(caDir, "ca.key"),
        "-CAcreateserial",
        "-CAserial",
        path.join(dir, "ca.srl"),
        "-out",
        crt,
        "-days",
        "1",
      ],
      { stdio: "ignore" },
    );
    const kube = kubeFrom(
      connect(
        loadKubeConfigFiles([
          writeKubeconfig("carol", { "certificate-authority": clusterInfo().caFile }, { "client-certificate": crt, "client-key": key }),
        ]),
      ),
    );
    expect(await whoAmI(kube)).toBe("carol");
  });

  it("in-cluster: reads the service account token file again after it rotates", async () => {
    const saDir = path.join(dir, "serviceaccount");
    execFileSync("mkdir", ["-p", saDir]);
    copyFileSync(clusterInfo().caFile, path.join(saDir, "ca.crt"));
    writeFileSync(path.join(saDir, "token"), await serviceAccountToken("first"));
    const url = new URL(clusterInfo().server);
    const cfg = loadInClusterConfig({ dir: saDir, env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port } });
    const kube = kubeFrom(connect(cfg, { tokenRefreshMs: 0 }));
    expect(await whoAmI(kube)).toBe(`system:serviceaccount:${ns}:first`);
    // The kubelet swaps the file for a fresh token: the next request uses it.
    writeFileSync(path.join(saDir, "token"), await serviceAccountToken("second"));
    expect(await whoAmI(kube)).toBe(`system:serviceaccount:${ns}:second`);
  });

  it("exec plugin: runs once, and again after the API server rejects its token (401)", async () => {
    const plugin = path.join(dir, "auth-plugin.sh");
    // The first run hands out a token the server does not know; later runs a valid one.
    writeFileSync(
      plugin,
      `#!/bin/sh
echo run >> "${dir}/plugin-runs"
n=$(wc -l < "${dir}/plugin-runs" | tr -d ' ')
tok=${userToken("bob")}
[ "$n" = 1 ] && tok=revoked-token
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}' "$tok"
`,
    );
    chmodSync(plugin, 0o755);
    const kube = kubeFrom(
      connect(
        loadKubeConfigFiles([
          writeKubeconfig(
            "exec",
            { "certificate-authority": clusterInfo().caFile },
            { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./auth-plugin.sh", interactiveMode: "Never" } },
          ),
        ]),
      ),
    );
    const rejected = await whoAmI(kube).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ApiError);
    expect((rejected as ApiError).code).toBe(401);
    expect(await whoAmI(kube)).toBe("bob");
    expect(await whoAmI(kube)).toBe("bob");
    expect(
      execFileSync("wc", ["-l", path.join(dir, "plugin-runs")])
        .toString()
        .trim()
        .split(/\s+/)[0],
    ).toBe("2");
  });
});
