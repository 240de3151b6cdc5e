// Installs the chart's RBAC into the integration tier's real API server (RBAC authorizer on) and
// checks it from the ServiceAccounts' own side, with tokens the API server issued for them:
//   1. every declared permission is allowed (SelfSubjectAccessReview per tuple);
//   2. nothing else is: SelfSubjectRulesReview minus what an unbound ServiceAccount already has
//      must be covered by the declared list, in a foreign namespace and in the release namespace;
//   3. spot checks that dangerous neighbours (pods/exec, other Leases...) are denied, and that
//      neither ServiceAccount may get, list, watch or write Secrets anywhere;
//   4. the real operator, running on nothing but the operator ServiceAccount's token, takes a warm
//      pool, a claim, an expiring claim and a suspended sandbox with a PVC through their lifecycle
//      without a single RBAC denial in its logs;
//   5. the real router, on the router ServiceAccount's token, serves the management API (create,
//      list, execute with its TTL write, suspend and resume, pool scaling, delete) without a single
//      RBAC denial.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultOperatorConfig } from "../../../src/config/operator-config.js";
import { buildOperator } from "../../../src/operator/build-operator.js";
import { buildRouter } from "../../../src/router/build-router.js";
import { defaultRouterConfig } from "../../../src/router/config.js";
import { isAlreadyExists, Kube, type Logger, type Manager } from "../../../src/runtime/index.js";
import { renderChart } from "../../unit/chart/helm.js";
import { helmMissing, helmPath } from "../../unit/chart/helm-available.js";
import { clusterInfo, FAKE_NODE_TOLERATION, freshNamespace, testKube, testKubeConfig, waitFor } from "../harness/cluster.js";
import {
  DEFAULT_LEASE_NAME,
  expandRules,
  operatorDenied,
  operatorPermissions,
  permissionKey,
  routerDenied,
  routerPermissions,
  type Denied,
  type Permission,
  type RbacRule,
} from "./declared-permissions.js";

interface ReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
}

interface RulesReviewStatus {
  resourceRules: Array<{ verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }>;
  nonResourceRules: Array<{ verbs: string[]; nonResourceURLs?: string[] }>;
  incomplete: boolean;
  evaluationError?: string;
}

function tokenKubeConfig(token: string): KubeConfig {
  const info = clusterInfo();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: info.server, caFile: info.caFile, skipTLSVerify: false }],
    users: [{ name: "sa", token }],
    contexts: [{ name: "sa", cluster: "test", user: "sa" }],
    currentContext: "sa",
  });
  return kc;
}

/** A token for the ServiceAccount from the TokenRequest API, as the kubelet mounts into a pod. */
async function serviceAccountToken(admin: Kube, namespace: string, name: string): Promise<string> {
  const r = await admin.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  return r.status.token;
}

async function can(
  kube: Kube,
  attrs: { namespace: string; verb: string; group: string; resource: string; subresource?: string; name?: string },
): Promise<ReviewStatus> {
  const r = await kube.request<{ status: ReviewStatus }>("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
    body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: attrs } },
  });
  return r.status;
}

async function rulesIn(kube: Kube, namespace: string): Promise<string[]> {
  const r = await kube.request<{ status: RulesReviewStatus }>("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
    body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } },
  });
  expect(r.status.incomplete, r.status.evaluationError).toBe(false);
  return expandRules([...(r.status.resourceRules as RbacRule[]), ...(r.status.nonResourceRules as RbacRule[])]);
}

/** Captures a component's JSON log lines, to look for RBAC denials in them. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

/** RBAC denials read 'User "system:serviceaccount:..." cannot <verb> resource ...'. */
function rbacDenials(lines: string[]): string[] {
  return [...new Set(lines.flatMap((l) => /User \\?"[^"\\]+\\?" cannot [a-z]+ resource[^,}]*/.exec(l)?.[0] ?? []))];
}

function splitResource(resource: string): { resource: string; subresource?: string } {
  const [res, sub] = resource.split("/");
  return sub ? { resource: res ?? resource, subresource: sub } : { resource };
}

describe.skipIf(helmMissing !== undefined)("chart RBAC on a real API server", () => {
  const admin = testKube();
  let releaseNs = "";
  let foreignNs = "";
  let installed: KubernetesObject[] = [];
  let operatorSA = "";
  let routerSA = "";
  let asOperator: Kube;
  let asRouter: Kube;
  let asBaseline: Kube;
  let operatorKc: KubeConfig;

  beforeAll(async () => {
    releaseNs = await freshNamespace("rbac-release");
    foreignNs = await freshNamespace("rbac-foreign");
    // A release name of its own keeps the ClusterRoles apart from any other install on this server.
    const release = `rbac-${randomBytes(3).toString("hex")}`;
    installed = renderChart(helmPath, {
      release,
      namespace: releaseNs,
      showOnly: ["templates/operator-rbac.yaml", "templates/router-rbac.yaml"],
    }) as unknown as KubernetesObject[];
    for (const obj of installed) await admin.create(obj);
    operatorSA = `${release}-agent-sandbox-controller`;
    routerSA = `${release}-agent-sandbox-router`;
    expect(
      installed
        .filter((o) => o.kind === "ServiceAccount")
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual([operatorSA, routerSA]);
    // An unbound ServiceAccount: what every authenticated account may do anyway (discovery, self reviews).
    await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "baseline", namespace: releaseNs } });
    operatorKc = tokenKubeConfig(await serviceAccountToken(admin, releaseNs, operatorSA));
    asOperator = new Kube(operatorKc);
    asRouter = new Kube(tokenKubeConfig(await serviceAccountToken(admin, releaseNs, routerSA)));
    asBaseline = new Kube(tokenKubeConfig(await serviceAccountToken(admin, releaseNs, "baseline")));
    // Sandbox pods default to RuntimeClass gvisor, which the RuntimeClass admission plugin requires to exist.
    try {
      await admin.create({
        apiVersion: "node.k8s.io/v1",
        kind: "RuntimeClass",
        metadata: { name: "gvisor" },
        handler: "runsc",
      } as KubernetesObject);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  });

  afterAll(async () => {
    for (const obj of installed.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")) {
      await admin.delete({ apiVersion: obj.apiVersion ?? "", kind: obj.kind ?? "", name: obj.metadata?.name ?? "" }).catch(() => undefined);
    }
    for (const ns of [releaseNs, foreignNs].filter(Boolean)) {
      await admin.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => undefined);
    }
  });

  const accounts = () =>
    [
      { who: "operator", kube: asOperator, declared: operatorPermissions(), denied: operatorDenied },
      { who: "router", kube: asRouter, declared: routerPermissions(), denied: routerDenied },
    ] as const;

  it("allows every permission the operator and the router declare", async () => {
    for (const { who, kube, declared } of accounts()) {
      for (const p of declared) {
        const namespace = p.scope === "release" ? releaseNs : foreignNs;
        for (const name of p.resourceNames ?? [undefined]) {
          const r = await can(kube, { namespace, verb: p.verb, group: p.group, ...splitResource(p.resource), ...(name ? { name } : {}) });
          expect(
            r.allowed,
            `${who} needs ${p.verb} ${p.group || "core"}/${p.resource}${name ? ` ${name}` : ""} in ${namespace} (${p.why})`,
          ).toBe(true);
        }
      }
    }
  });

  it("grants nothing beyond the declared list, in a foreign namespace or in the release namespace", async () => {
    const baselineForeign = new Set(await rulesIn(asBaseline, foreignNs));
    const baselineRelease = new Set(await rulesIn(asBaseline, releaseNs));
    // The baseline must not hide anything the chart grants.
    for (const { declared } of accounts()) for (const p of declared) expect(baselineRelease.has(permissionKey(p))).toBe(false);
    for (const { who, kube, declared } of accounts()) {
      const allowedKeys = (scopes: Permission["scope"][]) => new Set(declared.filter((p) => scopes.includes(p.scope)).map(permissionKey));
      const foreign = (await rulesIn(kube, foreignNs)).filter((k) => !baselineForeign.has(k));
      const release = (await rulesIn(kube, releaseNs)).filter((k) => !baselineRelease.has(k));
      const extraForeign = foreign.filter((k) => !allowedKeys(["cluster"]).has(k));
      const extraRelease = release.filter((k) => !allowedKeys(["cluster", "release"]).has(k));
      expect(extraForeign, `${who} may do more than declared in namespace ${foreignNs}`).toEqual([]);
      expect(extraRelease, `${who} may do more than declared in its release namespace`).toEqual([]);
      // And the review sees the declared grants (so the subtraction above compared real rule sets).
      expect(foreign.length).toBeGreaterThan(0);
    }
  });

  it("denies the dangerous neighbours of what is granted", async () => {
    for (const { who, kube, denied } of accounts()) {
      for (const d of denied as readonly Denied[]) {
        const namespace = d.where === "foreign" ? foreignNs : d.where === "release" ? releaseNs : "";
        const r = await can(kube, {
          namespace,
          verb: d.verb,
          group: d.group,
          resource: d.resource,
          ...(d.subresource ? { subresource: d.subresource } : {}),
          ...(d.name ? { name: d.name } : {}),
        });
        expect(
          r.allowed,
          `${who} must not ${d.verb} ${d.group || "core"}/${d.resource}${d.subresource ? `/${d.subresource}` : ""} (${d.where})`,
        ).toBe(false);
      }
    }
  });

  it("runs the real operator on the operator ServiceAccount's token without one RBAC denial", async () => {
    const { logger, lines } = capturingLogger();
    const { manager } = buildOperator({
      kubeConfig: operatorKc,
      config: { ...defaultOperatorConfig, execdImage: "agent-sandbox/runtime:test", routerNamespace: releaseNs },
      logger,
      healthServer: false,
      leaderElection: { kc: operatorKc, namespace: releaseNs, name: DEFAULT_LEASE_NAME },
    });
    const running: Manager = manager;
    const done = running.start();
    done.catch(() => undefined);
    // The scenario's failure is reported after the RBAC denials, which usually explain it.
    let failure: unknown;
    try {
      await waitFor(() => running.isReady() && running.elector?.isLeader(), {
        timeoutMs: 60_000,
        message: "operator leads and its caches synced",
      });
      const podTemplate = {
        spec: {
          tolerations: [{ ...FAKE_NODE_TOLERATION }],
          containers: [
            {
              name: "main",
              image: "agent-sandbox/runtime:test",
              command: ["sleep", "infinity"],
              ports: [{ containerPort: 9000, name: "app" }],
            },
          ],
        },
      };
      const ext = "extensions.agents.x-k8s.io/v1beta1";
      await admin.create({
        apiVersion: ext,
        kind: "SandboxTemplate",
        metadata: { name: "tpl", namespace: foreignNs },
        spec: { podTemplate, service: true },
      } as KubernetesObject);
      await admin.create({
        apiVersion: ext,
        kind: "SandboxWarmPool",
        metadata: { name: "pool", namespace: foreignNs },
        spec: { replicas: 1, sandboxTemplateRef: { name: "tpl" } },
      } as KubernetesObject);
      // Wait for a Ready warm member so the claim adopts it (patch) rather than cold-starting.
      await waitFor(
        async () => {
          const pool = await admin.get<KubernetesObject & { status?: { readyReplicas?: number } }>({
            apiVersion: ext,
            kind: "SandboxWarmPool",
            namespace: foreignNs,
            name: "pool",
          });
          return (pool.status?.readyReplicas ?? 0) >= 1;
        },
        { timeoutMs: 60_000, message: "warm pool has a Ready member" },
      );
      await admin.create({
        apiVersion: ext,
        kind: "SandboxClaim",
        metadata: { name: "claim", namespace: foreignNs },
        spec: { warmPoolRef: { name: "pool" } },
      } as KubernetesObject);
      await waitFor(
        async () => {
          const c = await admin.get<KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>({
            apiVersion: ext,
            kind: "SandboxClaim",
            namespace: foreignNs,
            name: "claim",
          });
          return c.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True");
        },
        { timeoutMs: 60_000, message: "claim Ready" },
      );
      // An expiring claim with shutdownPolicy Delete: the operator deletes the claim itself.
      await admin.create({
        apiVersion: ext,
        kind: "SandboxClaim",
        metadata: { name: "short", namespace: foreignNs },
        spec: {
          warmPoolRef: { name: "pool" },
          lifecycle: { shutdownTime: new Date(Date.now() + 2_000).toISOString(), shutdownPolicy: "Delete" },
        },
      } as KubernetesObject);
      await waitFor(
        async () => !(await admin.getOrUndefined({ apiVersion: ext, kind: "SandboxClaim", namespace: foreignNs, name: "short" })),
        {
          timeoutMs: 60_000,
          message: "expired claim deleted by the operator",
        },
      );
      // A sandbox with a volume claim template (PVC create), then suspended (pod delete).
      const core = "agents.x-k8s.io/v1beta1";
      await admin.create({
        apiVersion: core,
        kind: "Sandbox",
        metadata: { name: "vol", namespace: foreignNs },
        spec: {
          podTemplate,
          volumeClaimTemplates: [
            { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
          ],
        },
      } as KubernetesObject);
      await waitFor(
        () => admin.getOrUndefined({ apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: foreignNs, name: "data-vol" }),
        { timeoutMs: 30_000, message: "PVC created" },
      );
      await waitFor(() => admin.getOrUndefined({ apiVersion: "v1", kind: "Pod", namespace: foreignNs, name: "vol" }), {
        timeoutMs: 30_000,
        message: "pod created",
      });
      await admin.patch(
        { apiVersion: core, kind: "Sandbox", namespace: foreignNs, name: "vol" },
        { spec: { operatingMode: "Suspended" } },
        { type: "merge" },
      );
      await waitFor(
        async () => {
          const pod = await admin.getOrUndefined<KubernetesObject>({ apiVersion: "v1", kind: "Pod", namespace: foreignNs, name: "vol" });
          return !pod || pod.metadata?.deletionTimestamp !== undefined;
        },
        { timeoutMs: 30_000, message: "suspended sandbox's pod deleted" },
      );

      // What the operator wrote with its own identity is there.
      const lease = await admin.get<KubernetesObject & { spec?: { holderIdentity?: string } }>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: releaseNs,
        name: DEFAULT_LEASE_NAME,
      });
      expect(lease.spec?.holderIdentity).toBe(running.elector?.identity);
      // No Secret: the execution servers check router-signed tokens instead.
      const secrets = await admin.list(
        { apiVersion: "v1", kind: "Secret" },
        { namespace: foreignNs, labelSelector: "app.kubernetes.io/managed-by=agent-sandbox-ts" },
      );
      expect(secrets.items).toEqual([]);
      const policies = await admin.list({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }, { namespace: foreignNs });
      expect(policies.items.length).toBeGreaterThan(0);
      const services = await admin.list({ apiVersion: "v1", kind: "Service" }, { namespace: foreignNs });
      expect(services.items.length).toBeGreaterThan(0);
      await waitFor(
        async () => {
          const events = await admin.list<KubernetesObject & { reason?: string }>(
            { apiVersion: "events.k8s.io/v1", kind: "Event" },
            { namespace: foreignNs },
          );
          return events.items.some((e) => e.reason === "SandboxAdopted");
        },
        { timeoutMs: 15_000, message: "SandboxAdopted event recorded" },
      );
    } catch (err) {
      failure = err;
    } finally {
      await running.stop();
    }
    expect(rbacDenials(lines), "the operator was refused by RBAC").toEqual([]);
    expect(lines.length).toBeGreaterThan(0);
    if (failure) throw failure;
  });
  it("runs the real router on the router ServiceAccount's token without one RBAC denial", async () => {
    const routerToken = await serviceAccountToken(admin, releaseNs, routerSA);
    const routerKc = tokenKubeConfig(routerToken);
    const op = capturingLogger();
    const rt = capturingLogger();
    // The operator (no election this time) makes claims Ready; the router is what is under test.
    const operator = buildOperator({
      kubeConfig: operatorKc,
      config: { ...defaultOperatorConfig, execdImage: "agent-sandbox/runtime:test", routerNamespace: releaseNs },
      logger: op.logger,
      healthServer: false,
    }).manager;
    const router = buildRouter({
      kubeConfig: routerKc,
      config: defaultRouterConfig,
      logger: rt.logger,
      healthServer: false,
      // Pod IPs of kwok pods lead nowhere; a closed local port makes the proxied call fail at once.
      mapAddress: () => ({ host: "127.0.0.1", port: 9 }),
    });
    const ext = "extensions.agents.x-k8s.io/v1beta1";
    const adminToken = testKubeConfig().getCurrentUser()?.token ?? "";
    expect(adminToken).not.toBe("");
    void operator.start().catch(() => undefined);
    void router.manager.start().catch(() => undefined);
    await new Promise<void>((resolve) => router.server.listen(0, "127.0.0.1", resolve));
    const port = (router.server.address() as AddressInfo).port;
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const sep = path.includes("?") ? "&" : "?";
      const res = await fetch(`http://127.0.0.1:${port}${path}${sep}namespace=${foreignNs}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    let failure: unknown;
    try {
      await waitFor(() => operator.isReady() && router.manager.isReady(), {
        timeoutMs: 60_000,
        message: "operator and router caches synced",
      });
      const podTemplate = {
        spec: {
          tolerations: [{ ...FAKE_NODE_TOLERATION }],
          containers: [{ name: "main", image: "agent-sandbox/runtime:test", command: ["sleep", "infinity"] }],
        },
      };
      await admin.create({
        apiVersion: ext,
        kind: "SandboxTemplate",
        metadata: { name: "tpl-r", namespace: foreignNs },
        spec: { podTemplate },
      } as KubernetesObject);
      await admin.create({
        apiVersion: ext,
        kind: "SandboxWarmPool",
        metadata: { name: "pool-r", namespace: foreignNs },
        spec: { replicas: 1, sandboxTemplateRef: { name: "tpl-r" } },
      } as KubernetesObject);
      await waitFor(() => (router.caches.pools.get(foreignNs, "pool-r")?.status?.readyReplicas ?? 0) >= 1, {
        timeoutMs: 60_000,
        message: "router sees a Ready warm member",
      });
      const created = await call("POST", "/v1/sandboxes", { warmPool: "pool-r", ttlSeconds: 600 });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = String(created.body["id"]);
      expect((await call("GET", "/v1/sandboxes")).status).toBe(200);
      // Pull the claim's expiry in, so the execute below has a later one to write.
      const soon = new Date(Date.now() + 120_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      await admin.patch(
        { apiVersion: ext, kind: "SandboxClaim", namespace: foreignNs, name: id },
        { spec: { lifecycle: { shutdownTime: soon } } },
        { type: "merge" },
      );
      await waitFor(() => router.caches.claims.get(foreignNs, id)?.spec.lifecycle?.shutdownTime === soon, {
        message: "router sees the new expiry",
      });
      // Issuing an execution-server token takes the caller's authorization only, no Secret.
      const issued = await call("POST", `/v1/sandboxes/${id}/execd-token`, {});
      expect(issued.status, JSON.stringify(issued.body)).toBe(200);
      const executed = await call("POST", `/v1/sandboxes/${id}/execute`, { code: "print(1)" });
      // Authenticated, authorized and resolved; only the upstream (nothing listens there) is missing.
      expect([502, 503], JSON.stringify(executed.body)).toContain(executed.status);
      await waitFor(
        async () => {
          const claim = await admin.get<KubernetesObject & { spec?: { lifecycle?: { shutdownTime?: string } } }>({
            apiVersion: ext,
            kind: "SandboxClaim",
            namespace: foreignNs,
            name: id,
          });
          return Date.parse(claim.spec?.lifecycle?.shutdownTime ?? "") > Date.parse(soon);
        },
        { timeoutMs: 30_000, message: "router extended the claim's TTL" },
      );
      // Suspend and resume patch the bound Sandbox's spec.operatingMode.
      for (const [action, mode] of [
        ["suspend", "Suspended"],
        ["resume", "Running"],
      ] as const) {
        const changed = await call("POST", `/v1/sandboxes/${id}/${action}`, {});
        expect(changed.status, JSON.stringify(changed.body)).toBe(200);
        const sandbox = await admin.get<KubernetesObject & { spec?: { operatingMode?: string } }>({
          apiVersion: "agents.x-k8s.io/v1beta1",
          kind: "Sandbox",
          namespace: foreignNs,
          name: String(created.body["sandboxName"]),
        });
        expect(sandbox.spec?.operatingMode).toBe(mode);
      }
      const scaled = await call("POST", "/v1/warmpools/pool-r/scale", { replicas: 2 });
      expect(scaled.status, JSON.stringify(scaled.body)).toBe(200);
      const pool = await admin.get<KubernetesObject & { spec?: { replicas?: number } }>({
        apiVersion: ext,
        kind: "SandboxWarmPool",
        namespace: foreignNs,
        name: "pool-r",
      });
      expect(pool.spec?.replicas).toBe(2);
      expect((await call("DELETE", `/v1/sandboxes/${id}`)).status).toBe(200);
      expect(
        await admin
          .getOrUndefined({ apiVersion: ext, kind: "SandboxClaim", namespace: foreignNs, name: id })
          .then((c) => !c || c.metadata?.deletionTimestamp !== undefined),
      ).toBe(true);
    } catch (err) {
      failure = err;
    } finally {
      await new Promise<void>((resolve) => router.server.close(() => resolve()));
      await router.manager.stop();
      await operator.stop();
    }
    expect(rbacDenials(rt.lines), "the router was refused by RBAC").toEqual([]);
    expect(rbacDenials(op.lines), "the operator was refused by RBAC").toEqual([]);
    if (failure) throw failure;
  });
});
