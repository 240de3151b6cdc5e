// `helm install`, `helm upgrade` and `helm uninstall` of the chart against the integration tier's
// real API server. That tier runs no deployment controller (pods running the images are the e2e
// tier's job, where scripts/cluster.sh installs this chart), so what is checked is what Helm itself
// does against a real server: every object is created, CRDs that already exist are left alone, the
// router's signing key and the execution servers' token key pair are generated once and kept
// across upgrades (lookup), and uninstall removes the cluster-scoped RBAC.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject, V1Deployment, V1Secret } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHART, helm } from "../../unit/chart/helm.js";
import { helmMissing, helmPath } from "../../unit/chart/helm-available.js";
import { keyId, publicKeysFromPem, signingKeyFromPem } from "../../../src/execd-token/index.js";
import { clusterInfo, FAKE_NODE_TOLERATION, freshNamespace, testKube } from "../harness/cluster.js";

describe.skipIf(helmMissing !== undefined)("helm install of the chart on a real API server", () => {
  const kube = testKube();
  const release = `helm-${randomBytes(3).toString("hex")}`;
  const prefix = `${release}-agent-sandbox`;
  let ns = "";
  let dir = "";
  let valuesFile = "";

  const run = (args: string[]) => {
    const r = helm(helmPath, [...args, "--kubeconfig", clusterInfo().kubeconfig]);
    if (r.status !== 0) throw new Error(`helm ${args.join(" ")} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    return r;
  };

  const signingKey = async (): Promise<string> => {
    const s = await kube.get<V1Secret & KubernetesObject>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: ns,
      name: `${prefix}-router-signing-key`,
    });
    return s.data?.["key"] ?? "";
  };

  const execdTokenKey = async (): Promise<Record<string, string>> => {
    const s = await kube.get<V1Secret & KubernetesObject>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: ns,
      name: `${prefix}-execd-token-key`,
    });
    return s.data ?? {};
  };

  /** resourceVersion of each agent-sandbox CRD. */
  const crdVersions = async (): Promise<Record<string, string>> => {
    const list = await kube.list<KubernetesObject>({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" });
    return Object.fromEntries(
      list.items
        .filter((c) => (c.metadata?.name ?? "").includes("agents.x-k8s.io"))
        .map((c) => [c.metadata?.name ?? "", c.metadata?.resourceVersion ?? ""]),
    );
  };

  beforeAll(async () => {
    ns = await freshNamespace("helm-install");
    dir = mkdtempSync(join(tmpdir(), "chart-values-"));
    valuesFile = join(dir, "values.yaml");
    // A values file, as users pass one; the tolerations would put the pods on the kwok node.
    const onFakeNode = { replicas: 1, tolerations: [{ ...FAKE_NODE_TOLERATION }] };
    writeFileSync(valuesFile, stringify({ operator: onFakeNode, router: onFakeNode }));
  });

  afterAll(async () => {
    if (ns) {
      helm(helmPath, ["uninstall", release, "-n", ns, "--kubeconfig", clusterInfo().kubeconfig]);
      await kube.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("installs, keeps the signing key across an upgrade, and uninstalls cleanly", async () => {
    const crdsBefore = await crdVersions();
    expect(Object.keys(crdsBefore)).toHaveLength(4);
    run(["install", release, CHART, "-n", ns, "-f", valuesFile]);
    for (const name of [`${prefix}-controller`, `${prefix}-router`]) {
      const d = await kube.get<V1Deployment & KubernetesObject>({ apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name });
      expect(d.spec?.replicas, name).toBe(1);
      expect(d.spec?.template.spec?.tolerations, name).toEqual([{ ...FAKE_NODE_TOLERATION }]);
      expect(await kube.getOrUndefined({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name }), name).toBeDefined();
    }
    const key = await signingKey();
    expect(Buffer.from(key, "base64").length).toBeGreaterThanOrEqual(32);
    const pair = await execdTokenKey();
    expect(Object.keys(pair).sort()).toEqual(["signing-key.pem", "verify-key.pem"]);
    const [trusted] = publicKeysFromPem(Buffer.from(pair["verify-key.pem"] ?? "", "base64").toString("utf8"));
    const signer = signingKeyFromPem(Buffer.from(pair["signing-key.pem"] ?? "", "base64"));
    expect(trusted && keyId(trusted)).toBe(keyId(signer));
    // The CRDs the harness installed were left as they were (Helm skips existing CRDs).
    expect(await crdVersions()).toEqual(crdsBefore);

    run(["upgrade", release, CHART, "-n", ns, "-f", valuesFile, "--set", "router.ttl.defaultSeconds=600"]);
    expect(await signingKey()).toBe(key);
    // A new key pair would leave every running sandbox refusing the router.
    expect(await execdTokenKey()).toEqual(pair);
    const router = await kube.get<V1Deployment & KubernetesObject>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: ns,
      name: `${prefix}-router`,
    });
    expect(router.spec?.template.spec?.containers[0]?.args).toContain("--default-ttl=600");

    run(["uninstall", release, "-n", ns, "--wait"]);
    for (const kind of ["ClusterRole", "ClusterRoleBinding"]) {
      for (const name of [`${prefix}-controller`, `${prefix}-router`]) {
        expect(await kube.getOrUndefined({ apiVersion: "rbac.authorization.k8s.io/v1", kind, name }), `${kind}/${name}`).toBeUndefined();
      }
    }
  });
});
