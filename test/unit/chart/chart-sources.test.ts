// The chart lints clean, its CRDs are the generator's, deploy/ is what the chart renders, and its
// version is the package's.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHART, REPO, helm, renderChart, KUBE_VERSION } from "./helm.js";
import { helmMissing, helmPath } from "./helm-available.js";

describe.skipIf(helmMissing !== undefined)("chart sources", () => {
  it("passes helm lint --strict, with defaults and with every optional object switched on", () => {
    for (const extra of [
      [],
      ["--set", "runtimeClass.create=true", "--set", "metrics.serviceMonitor.enabled=true", "--set", "createNamespace=true"],
    ]) {
      const r = helm(helmPath, [
        "lint",
        CHART,
        "--strict",
        "--kube-version",
        KUBE_VERSION,
        "--namespace",
        "agent-sandbox-system",
        ...extra,
      ]);
      expect(r.stderr + r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it("ships exactly the CRDs that npm run gen:crds writes to crds/ (run npm run render:deploy when this fails)", () => {
    const generated = readdirSync(join(REPO, "crds"))
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    const shipped = readdirSync(join(CHART, "crds"))
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    expect(generated.length).toBe(4);
    expect(shipped).toEqual(generated);
    for (const f of generated) {
      const same = readFileSync(join(CHART, "crds", f), "utf8") === readFileSync(join(REPO, "crds", f), "utf8");
      expect(same, `charts/agent-sandbox/crds/${f} differs from crds/${f}; run npm run render:deploy`).toBe(true);
    }
  });

  it("renders the four CRDs with --include-crds", () => {
    const crds = renderChart(helmPath, { includeCrds: true }).filter((o) => o.kind === "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      "sandboxclaims.extensions.agents.x-k8s.io",
      "sandboxes.agents.x-k8s.io",
      "sandboxtemplates.extensions.agents.x-k8s.io",
      "sandboxwarmpools.extensions.agents.x-k8s.io",
    ]);
  });

  it("has deploy/agent-sandbox.yaml equal to what the chart renders (run npm run render:deploy when this fails)", () => {
    const fresh = execFileSync("bash", [join(REPO, "scripts/render-deploy.sh"), "--stdout"], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, HELM: helmPath },
    });
    const committed = readFileSync(join(REPO, "deploy/agent-sandbox.yaml"), "utf8");
    expect(committed === fresh, "deploy/agent-sandbox.yaml is stale; run npm run render:deploy").toBe(true);
    // The plain manifests are self-contained: namespace, CRDs, both workloads.
    expect(committed).toMatch(/^kind: Namespace$/m);
    expect(committed.match(/^kind: CustomResourceDefinition$/gm)?.length).toBe(4);
    expect(committed.match(/^kind: Deployment$/gm)?.length).toBe(2);
  });

  it("carries package.json's version as chart version and appVersion", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const chart = readFileSync(join(CHART, "Chart.yaml"), "utf8");
    expect(/^version: (.*)$/m.exec(chart)?.[1]).toBe(pkg.version);
    expect(/^appVersion: "(.*)"$/m.exec(chart)?.[1]).toBe(pkg.version);
  });

  it("refuses values of the wrong shape with a message naming the value", () => {
    expect(() => renderChart(helmPath, { set: { "router.service.type": "Ingress" } })).toThrow(/router\.service\.type|type/);
    expect(() => renderChart(helmPath, { set: { "operator.replicas": -1 } })).toThrow(/replicas/);
  });
});
