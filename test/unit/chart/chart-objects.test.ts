// What the chart renders: hardened workloads the real operator's flag parser accepts, the router's
// NetworkPolicy-facing labels, PDBs, and the optional objects behind their toggles.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1Container, V1Deployment, V1PodDisruptionBudget, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { encodePublicKey } from "../../../src/execd-token/index.js";
import { parseOperatorFlags } from "../../../src/operator/flags.js";
import { parseRouterFlags } from "../../../src/router/flags.js";
import { find, renderChart, type K8sObject } from "./helm.js";
import { helmMissing, helmPath } from "./helm-available.js";

const OPERATOR = "agent-sandbox-controller";
const ROUTER = "agent-sandbox-router";
const ROUTER_SERVICE = "sandbox-router-svc";
/** src/runtime/manager.ts: graceful shutdown waits this long for reconciles to drain. */
const DRAIN_DEADLINE_SECONDS = 20;

function deployment(objects: K8sObject[], name: string): V1Deployment {
  return find(objects, "Deployment", name) as unknown as V1Deployment;
}

function onlyContainer(d: V1Deployment): V1Container {
  const cs = d.spec?.template.spec?.containers ?? [];
  expect(cs).toHaveLength(1);
  return cs[0] as V1Container;
}

const KEY_MOUNT = "/etc/agent-sandbox/execd-token-key";
const KEY_SECRET = "agent-sandbox-execd-token-key";
const ENV_KEY_SECRET = "agent-sandbox-execd-env-key";

/**
 * `args` with the mounted execution-server key files replaced by copies of what the rendered
 * Secret holds, as the kubelet would project them, so the real flag parsers can read them.
 */
function withMountedKeys(args: string[], objects: K8sObject[]): string[] {
  const secret = find(objects, "Secret", KEY_SECRET) as unknown as { data: Record<string, string> };
  const dir = mkdtempSync(path.join(os.tmpdir(), "chart-keys-"));
  for (const [file, value] of Object.entries(secret.data)) writeFileSync(path.join(dir, file), Buffer.from(value, "base64"));
  return args.map((a) => a.replace(KEY_MOUNT, dir));
}

describe.skipIf(helmMissing !== undefined)("chart objects", () => {
  const objects = helmMissing ? [] : renderChart(helmPath);

  it("renders every object into the release namespace except the cluster-scoped RBAC", () => {
    const clusterScoped = new Set(["ClusterRole", "ClusterRoleBinding", "RuntimeClass", "Namespace", "CustomResourceDefinition"]);
    for (const o of objects) {
      if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe("agent-sandbox-system");
    }
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        "ClusterRole/agent-sandbox-controller",
        "ClusterRole/agent-sandbox-router",
        "ClusterRoleBinding/agent-sandbox-controller",
        "ClusterRoleBinding/agent-sandbox-router",
        "Deployment/agent-sandbox-controller",
        "Deployment/agent-sandbox-router",
        "PodDisruptionBudget/agent-sandbox-controller",
        "PodDisruptionBudget/agent-sandbox-router",
        "Role/agent-sandbox-controller-leader-election",
        "RoleBinding/agent-sandbox-controller-leader-election",
        "Secret/agent-sandbox-router-signing-key",
        "Secret/agent-sandbox-execd-token-key",
        "Secret/agent-sandbox-execd-env-key",
        "Service/agent-sandbox-controller-metrics",
        "Service/sandbox-router-svc",
        "Service/agent-sandbox-router-metrics",
        "ServiceAccount/agent-sandbox-controller",
        "ServiceAccount/agent-sandbox-router",
      ].sort(),
    );
  });

  for (const name of [OPERATOR, ROUTER]) {
    it(`hardens ${name}: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp`, () => {
      const d = deployment(objects, name);
      const pod = d.spec?.template.spec;
      expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod?.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod?.hostNetwork ?? false).toBe(false);
      expect(pod?.hostPID ?? false).toBe(false);
      const c = onlyContainer(d);
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      // The only writable path is an emptyDir /tmp; the token keys are mounted read-only.
      const mounts: unknown[] = [
        { name: "tmp", mountPath: "/tmp" },
        { name: "execd-token-key", mountPath: KEY_MOUNT, readOnly: true },
      ];
      const operator = name === OPERATOR;
      if (operator) mounts.push({ name: "execd-env-key", mountPath: "/etc/agent-sandbox/execd-env-key", readOnly: true });
      expect(c.volumeMounts).toEqual(mounts);
      expect(pod?.volumes?.[0]).toEqual({ name: "tmp", emptyDir: { sizeLimit: "64Mi" } });
      expect(pod?.volumes?.slice(1).map((v) => v.name)).toEqual(operator ? ["execd-token-key", "execd-env-key"] : ["execd-token-key"]);
      expect(c.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.resources?.limits?.["memory"]).toBeDefined();
      expect(c.image).toBe("agent-sandbox/operator:0.1.0");
      expect(c.env?.find((e) => e.name === "POD_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
      expect(c.env?.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
      expect(pod?.terminationGracePeriodSeconds).toBeGreaterThan(DRAIN_DEADLINE_SECONDS);
      expect(pod?.serviceAccountName).toBe(name);
      expect(d.spec?.replicas).toBe(2);
    });
  }

  it("probes the operator's /healthz and /readyz on its health port", () => {
    const c = onlyContainer(deployment(objects, OPERATOR));
    expect(c.ports).toEqual([{ name: "http-health", containerPort: 8081, protocol: "TCP" }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http-health" });
    expect(c.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http-health" });
    expect(c.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "http-health" });
  });

  it("passes the operator flags its own parser accepts, carrying the values", () => {
    const c = onlyContainer(deployment(objects, OPERATOR));
    expect(c.args?.[0]).toBe("/app/dist/operator/main.js");
    const flags = parseOperatorFlags(withMountedKeys(c.args?.slice(1) ?? [], objects));
    expect(flags.leaderElect).toBe(true);
    expect(flags.leaderElectionId).toBe("agent-sandbox-ts-leader");
    expect(flags.healthAddress.port).toBe(8081);
    expect(flags.namespace).toBeUndefined();
    expect(flags.config).toMatchObject({
      defaultRuntimeClassName: "gvisor",
      defaultResources: {
        requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "256Mi" },
        limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "2Gi" },
      },
      execdImage: "agent-sandbox/runtime:0.1.0",
      execPort: 8888,
      routerNamespace: "agent-sandbox-system",
      routerPodLabels: { app: "sandbox-router" },
      clusterDomain: "cluster.local",
      defaultRunAsUser: 1000,
    });
  });

  it("carries changed values into the operator's flags", () => {
    const changed = renderChart(helmPath, {
      namespace: "platform",
      set: {
        "sandboxDefaults.runtimeClassName": "kata",
        "sandboxDefaults.resources.limits.memory": "4Gi",
        "operator.leaderElection.enabled": false,
        "operator.watchNamespace": "team-a",
        "execd.image.tag": "1.2.3",
        "operator.workers.sandbox": 32,
      },
    });
    const flags = parseOperatorFlags(withMountedKeys(onlyContainer(deployment(changed, OPERATOR)).args?.slice(1) ?? [], changed));
    expect(flags.config.defaultRuntimeClassName).toBe("kata");
    expect(flags.config.defaultResources.limits["memory"]).toBe("4Gi");
    expect(flags.config.execdImage).toBe("agent-sandbox/runtime:1.2.3");
    expect(flags.config.routerNamespace).toBe("platform");
    expect(flags.leaderElect).toBe(false);
    expect(flags.namespace).toBe("team-a");
    expect(flags.workers.sandbox).toBe(32);
    // No Lease, no Lease permissions.
    expect(changed.some((o) => o.kind === "Role")).toBe(false);
  });

  it("labels router pods app=sandbox-router, the peer sandbox NetworkPolicies admit", () => {
    const d = deployment(objects, ROUTER);
    expect(d.spec?.template.metadata?.labels?.["app"]).toBe("sandbox-router");
    // The selector must not include the NetworkPolicy label: changing it would orphan pods on upgrade.
    expect(d.spec?.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "agent-sandbox",
      "app.kubernetes.io/instance": "agent-sandbox",
      "app.kubernetes.io/component": "router",
    });
  });

  it("passes router flags the router's own parser accepts, and probes its health port", () => {
    const c = onlyContainer(deployment(objects, ROUTER));
    expect(c.args?.[0]).toBe("/app/dist/router/main.js");
    const flags = parseRouterFlags(withMountedKeys(c.args?.slice(1) ?? [], objects), {});
    expect(flags.listen.port).toBe(8080);
    expect(flags.healthAddress.port).toBe(8081);
    expect(flags.config).toMatchObject({ execPort: 8888, defaultTtlSeconds: 3600, maxTtlSeconds: 14 * 24 * 3600 });
    expect(flags.namespace).toBeUndefined();
    expect(flags.config.consoleDir).toMatch(/\/console\/$/);
    const noConsole = onlyContainer(deployment(renderChart(helmPath, { set: { "router.console": false } }), ROUTER));
    expect(parseRouterFlags(withMountedKeys(noConsole.args?.slice(1) ?? [], objects), {}).config.consoleDir).toBeUndefined();
    expect(c.ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "http-health", containerPort: 8081, protocol: "TCP" },
    ]);
    expect(c.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http-health" });
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http-health" });
    expect(c.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "http-health" });
  });

  it("gives every router replica the same signing key from a generated Secret", () => {
    const c = onlyContainer(deployment(objects, ROUTER));
    const env = c.env?.find((e) => e.name === "ROUTER_SIGNING_KEY");
    expect(env?.valueFrom?.secretKeyRef).toEqual({ name: "agent-sandbox-router-signing-key", key: "key", optional: true });
    const secret = find(objects, "Secret", "agent-sandbox-router-signing-key") as unknown as { data: Record<string, string> };
    const key = Buffer.from(secret.data["key"] ?? "", "base64");
    expect(key.length).toBeGreaterThanOrEqual(32);
    // The router refuses keys under 32 bytes; this one parses.
    expect(parseRouterFlags([], { ROUTER_SIGNING_KEY: key.toString("utf8") }).signingKey?.length).toBe(key.length);
    // Bring-your-own Secret: nothing generated, the Deployment points at it.
    const byo = renderChart(helmPath, { set: { "router.signingKey.existingSecret": "mine" } });
    expect(byo.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual([ENV_KEY_SECRET, KEY_SECRET]);
    expect(onlyContainer(deployment(byo, ROUTER)).env?.find((e) => e.name === "ROUTER_SIGNING_KEY")?.valueFrom?.secretKeyRef?.name).toBe(
      "mine",
    );
  });

  it("generates one execution-server token key pair: the router mounts only the private key, the operator only the public one, and they match", () => {
    const secret = find(objects, "Secret", KEY_SECRET) as unknown as { data: Record<string, string> };
    expect(Object.keys(secret.data).sort()).toEqual(["signing-key.pem", "verify-key.pem"]);
    const mounted = (name: string) =>
      deployment(objects, name).spec?.template.spec?.volumes?.find((v) => v.name === "execd-token-key")?.secret;
    expect(mounted(ROUTER)).toMatchObject({ secretName: KEY_SECRET, items: [{ key: "signing-key.pem", path: "signing-key.pem" }] });
    expect(mounted(OPERATOR)).toMatchObject({ secretName: KEY_SECRET, items: [{ key: "verify-key.pem", path: "verify-key.pem" }] });
    const router = parseRouterFlags(withMountedKeys(onlyContainer(deployment(objects, ROUTER)).args?.slice(1) ?? [], objects), {});
    const operator = parseOperatorFlags(withMountedKeys(onlyContainer(deployment(objects, OPERATOR)).args?.slice(1) ?? [], objects));
    expect(router.execdSigningKey).toBeDefined();
    expect(operator.config.execdTrustedKeys).toEqual([encodePublicKey(router.execdSigningKey!)]);
    // Bring-your-own key Secret: nothing generated, both Deployments mount it.
    const byo = renderChart(helmPath, { set: { "execd.tokenKey.existingSecret": "my-key" } });
    expect(byo.some((o) => o.kind === "Secret" && o.metadata.name === KEY_SECRET)).toBe(false);
    for (const name of [ROUTER, OPERATOR]) {
      expect(deployment(byo, name).spec?.template.spec?.volumes?.find((v) => v.name === "execd-token-key")?.secret?.secretName).toBe(
        "my-key",
      );
    }
  });

  it("generates the operator's environment key: only the operator mounts it, and its flags then admit the operator's pods", () => {
    const secret = find(objects, "Secret", ENV_KEY_SECRET) as unknown as { data: Record<string, string> };
    expect(Object.keys(secret.data)).toEqual(["env-signing-key.pem"]);
    const mounted = (name: string) =>
      deployment(objects, name).spec?.template.spec?.volumes?.find((v) => v.name === "execd-env-key")?.secret;
    expect(mounted(ROUTER)).toBeUndefined();
    expect(mounted(OPERATOR)).toMatchObject({ secretName: ENV_KEY_SECRET, optional: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), "chart-env-key-"));
    writeFileSync(path.join(dir, "env-signing-key.pem"), Buffer.from(secret.data["env-signing-key.pem"] ?? "", "base64"));
    const args = (onlyContainer(deployment(objects, OPERATOR)).args?.slice(1) ?? []).map((a) =>
      a.replace("/etc/agent-sandbox/execd-env-key", dir),
    );
    const operator = parseOperatorFlags(withMountedKeys(args, objects));
    expect(operator.envSigningKey?.asymmetricKeyType).toBe("ed25519");
    expect(operator.config.execdEnvTrustedKeys).toEqual([encodePublicKey(operator.envSigningKey!)]);
    const podLabels = deployment(objects, OPERATOR).spec?.template.metadata?.labels ?? {};
    expect(Object.keys(operator.config.operatorPodLabels).length).toBeGreaterThan(0);
    expect(podLabels).toMatchObject(operator.config.operatorPodLabels);
    // Without the Secret (plain manifests), the operator starts and puts env in pod specs.
    const absent = parseOperatorFlags(["--env-signing-key-file", path.join(dir, "missing.pem")]);
    expect(absent.envSigningKey).toBeUndefined();
    expect(absent.config.execdEnvTrustedKeys).toEqual([]);
  });

  it("names the controller Deployment, its pods' app label and the router Service as upstream does", () => {
    expect(deployment(objects, OPERATOR).spec?.template.metadata?.labels?.["app"]).toBe("agent-sandbox-controller");
    expect(find(objects, "Service", ROUTER_SERVICE)).toBeDefined();
    const renamed = renderChart(helmPath, { set: { "router.service.name": "my-router" } });
    expect(find(renamed, "Service", "my-router")).toBeDefined();
    // A user's own app label wins over upstream's.
    const labelled = renderChart(helmPath, { set: { "operator.podLabels.app": "mine" } });
    expect(deployment(labelled, OPERATOR).spec?.template.metadata?.labels?.["app"]).toBe("mine");
  });

  it("exposes the router through a Service of the configured type", () => {
    const svc = find(objects, "Service", ROUTER_SERVICE) as unknown as V1Service;
    expect(svc.spec?.type).toBe("ClusterIP");
    expect(svc.spec?.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    expect(svc.spec?.selector).toEqual(deployment(objects, ROUTER).spec?.selector.matchLabels);
    const lb = renderChart(helmPath, {
      set: { "router.service.type": "LoadBalancer", "router.service.loadBalancerSourceRanges[0]": "10.0.0.0/8" },
    });
    const lbSvc = find(lb, "Service", ROUTER_SERVICE) as unknown as V1Service;
    expect(lbSvc.spec?.type).toBe("LoadBalancer");
    expect(lbSvc.spec?.loadBalancerSourceRanges).toEqual(["10.0.0.0/8"]);
    const np = renderChart(helmPath, { set: { "router.service.type": "NodePort", "router.service.nodePort": 30080 } });
    expect((find(np, "Service", ROUTER_SERVICE) as unknown as V1Service).spec?.ports?.[0]?.nodePort).toBe(30080);
  });

  it("protects both Deployments with a PodDisruptionBudget that cannot block a drain", () => {
    for (const name of [OPERATOR, ROUTER]) {
      const pdb = find(objects, "PodDisruptionBudget", name) as unknown as V1PodDisruptionBudget;
      expect(pdb.spec?.maxUnavailable).toBe(1);
      expect(pdb.spec?.minAvailable).toBeUndefined();
      expect(pdb.spec?.selector?.matchLabels).toEqual(deployment(objects, name).spec?.selector.matchLabels);
    }
  });

  it("creates the gVisor RuntimeClass only when asked", () => {
    expect(objects.some((o) => o.kind === "RuntimeClass")).toBe(false);
    const rc = find(renderChart(helmPath, { set: { "runtimeClass.create": true } }), "RuntimeClass", "gvisor");
    expect(rc["handler"]).toBe("runsc");
    expect(rc.apiVersion).toBe("node.k8s.io/v1");
  });

  it("renders ServiceMonitors for the operator's and the router's /metrics only when asked", () => {
    expect(objects.some((o) => o.kind === "ServiceMonitor")).toBe(false);
    const on = renderChart(helmPath, { set: { "metrics.serviceMonitor.enabled": true, "metrics.serviceMonitor.labels.release": "prom" } });
    for (const name of [OPERATOR, ROUTER]) {
      const sm = find(on, "ServiceMonitor", name);
      expect(sm.metadata.labels?.["release"]).toBe("prom");
      const spec = sm["spec"] as { endpoints: Array<{ port: string; path: string }>; selector: { matchLabels: Record<string, string> } };
      expect(spec.endpoints).toEqual([expect.objectContaining({ port: "http-metrics", path: "/metrics" })]);
      // The monitor selects exactly the metrics Service of its component.
      const selected = on.filter(
        (o) => o.kind === "Service" && Object.entries(spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
      );
      expect(selected.map((o) => o.metadata.name)).toEqual([`${name}-metrics`]);
      const svc = selected[0] as unknown as V1Service;
      expect(svc.spec?.ports?.[0]).toMatchObject({ name: "http-metrics", port: 8081, targetPort: "http-health" });
      expect(svc.spec?.selector).toEqual(deployment(on, name).spec?.selector.matchLabels);
    }
  });

  it("keeps Service names valid DNS labels (<= 63 characters) for long release names", () => {
    const long = renderChart(helmPath, { release: "a-very-long-release-name-for-a-platform-team-install" });
    const services = long.filter((o) => o.kind === "Service");
    expect(services.length).toBe(3);
    for (const svc of services) expect(svc.metadata.name).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });

  it("leaves the router out entirely when router.enabled=false", () => {
    const off = renderChart(helmPath, { set: { "router.enabled": false } });
    expect(off.filter((o) => o.metadata.name.startsWith(ROUTER)).map((o) => o.kind)).toEqual([]);
  });

  it("renders a Pod Security 'restricted' Namespace only for the plain manifests", () => {
    expect(objects.some((o) => o.kind === "Namespace")).toBe(false);
    const ns = find(renderChart(helmPath, { set: { createNamespace: true } }), "Namespace", "agent-sandbox-system");
    expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });
});
