// Every object the chart renders is accepted by a real API server with strict field validation
// (server-side dry run, so a misspelt field fails here rather than on a user's cluster), and the
// operator's and router's pods pass Pod Security "restricted" enforcement: non-root, no privilege
// escalation, no capabilities, seccomp RuntimeDefault.
import { randomBytes } from "node:crypto";
import type { KubernetesObject, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlreadyExists } from "../../../src/runtime/index.js";
import { renderChart } from "../../unit/chart/helm.js";
import { helmMissing, helmPath } from "../../unit/chart/helm-available.js";
import { freshNamespace, testKube } from "../harness/cluster.js";

describe.skipIf(helmMissing !== undefined)("chart objects on a real API server", () => {
  const kube = testKube();
  let ns = "";
  let objects: KubernetesObject[] = [];

  beforeAll(async () => {
    ns = await freshNamespace("chart-admission");
    // What deploy/ puts on its namespace: Pod Security "restricted", enforced.
    await kube.patch(
      { apiVersion: "v1", kind: "Namespace", name: ns },
      { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
      { type: "merge" },
    );
    const release = `adm-${randomBytes(3).toString("hex")}`;
    objects = renderChart(helmPath, {
      release,
      namespace: ns,
      // Everything optional on, except the ServiceMonitor (no Prometheus Operator CRDs here).
      set: { "runtimeClass.create": true, "runtimeClass.name": `${release}-gvisor` },
    }) as unknown as KubernetesObject[];
  });

  afterAll(async () => {
    if (ns) await kube.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => undefined);
  });

  it("accepts every rendered object with fieldValidation=Strict (dry run)", async () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const obj of objects) {
      try {
        await kube.create(obj, { dryRun: true });
      } catch (err) {
        if (isAlreadyExists(err)) continue;
        throw new Error(`${obj.kind}/${obj.metadata?.name} was refused: ${String(err)}`, { cause: err });
      }
    }
  });

  it("runs the operator's and the router's pods under Pod Security 'restricted'", async () => {
    const deployments = objects.filter((o): o is V1Deployment & KubernetesObject => o.kind === "Deployment");
    expect(deployments).toHaveLength(2);
    for (const d of deployments) {
      const pod: V1Pod & KubernetesObject = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${d.metadata?.name ?? "pod"}-check`, namespace: ns, labels: d.spec?.template.metadata?.labels ?? {} },
        spec: d.spec?.template.spec ?? { containers: [] },
      };
      await expect(kube.create(pod, { dryRun: true }), `${d.metadata?.name}`).resolves.toBeDefined();
    }
  });

  it("would refuse a pod without the chart's hardening (the check above bites)", async () => {
    const d = objects.find((o): o is V1Deployment & KubernetesObject => o.kind === "Deployment");
    const spec = structuredClone(d?.spec?.template.spec ?? { containers: [] });
    for (const c of spec.containers) delete c.securityContext;
    const pod: V1Pod & KubernetesObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "unhardened", namespace: ns }, spec };
    const err = await kube.create(pod, { dryRun: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(String(err)).toMatch(/violates PodSecurity "restricted/);
  });
});
