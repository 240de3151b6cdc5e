// The generated CRDs against a real kube-apiserver: they become Established, upstream's v1beta1
// sample manifests are accepted (with the same defaults zod applies), and invalid manifests are
// rejected by the API server itself with a message naming the offending field.
import { readdirSync, readFileSync } from "node:fs";
import { execFile } from "node:child_process";
import https from "node:https";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { buildCrds, type CustomResourceDefinition } from "../../scripts/lib/crds.js";
import {
  ALL_RESOURCES,
  SandboxClaimSchema,
  SandboxSchema,
  SandboxTemplateSchema,
  SandboxWarmPoolSchema,
  type ResourceGVK,
} from "../../src/api/index.js";

const SAMPLES = join(import.meta.dirname, "../fixtures/upstream-samples");
type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } };

const gvkByKind = new Map<string, ResourceGVK>(ALL_RESOURCES.map((r) => [r.kind, r]));
const schemaByKind: Record<string, z.ZodType> = {
  Sandbox: SandboxSchema,
  SandboxTemplate: SandboxTemplateSchema,
  SandboxClaim: SandboxClaimSchema,
  SandboxWarmPool: SandboxWarmPoolSchema,
};

let kc: KubeConfig;
let custom: CustomObjectsApi;
const namespace = `crd-test-${Date.now().toString(36)}`;

function gvkOf(kind: string): ResourceGVK {
  const g = gvkByKind.get(kind);
  if (!g) throw new Error(`unknown kind ${kind}`);
  return g;
}

/** The API server's Status message of a failed request (client-node throws ApiException). */
function apiMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  const body = typeof e.body === "string" ? e.body : JSON.stringify(e.body ?? "");
  try {
    const parsed = JSON.parse(body) as { message?: string };
    return `${e.code ?? ""} ${parsed.message ?? body}`;
  } catch {
    return `${e.code ?? ""} ${body || e.message || String(err)}`;
  }
}

async function create(obj: Obj): Promise<Obj> {
  const g = gvkOf(obj.kind);
  return (await custom.createNamespacedCustomObject({
    group: g.group,
    version: g.version,
    namespace,
    plural: g.plural,
    body: obj,
    fieldValidation: "Strict",
  })) as Obj;
}

/** Create `obj` and return the rejection message; fails the test if the server accepts it. */
async function rejection(obj: Obj): Promise<string> {
  try {
    await create(obj);
  } catch (err) {
    return apiMessage(err);
  }
  throw new Error(`the API server accepted an invalid ${obj.kind}: ${JSON.stringify(obj)}`);
}

/** A GET with our own Accept header (client-node's typed APIs cannot ask for a Table). */
async function getRaw(path: string, accept: string): Promise<{ status: number; body: string }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method: "GET", headers: { Accept: accept } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function samples(): Obj[] {
  return readdirSync(SAMPLES)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(readFileSync(join(SAMPLES, f), "utf8")).map((d) => d.toJS() as Obj));
}

function sandbox(name: string, spec: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: "agents.x-k8s.io/v1beta1",
    kind: "Sandbox",
    metadata: { name },
    spec: { podTemplate: { spec: { containers: [{ name: "c", image: "busybox" }] } }, ...spec },
  };
}
function template(name: string, spec: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxTemplate",
    metadata: { name },
    spec: { podTemplate: { spec: { containers: [{ name: "c", image: "busybox" }] } }, ...spec },
  };
}
function claim(name: string, spec: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxClaim",
    metadata: { name },
    spec: { warmPoolRef: { name: "pool" }, ...spec },
  };
}
function pool(name: string, spec: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxWarmPool",
    metadata: { name },
    spec: { sandboxTemplateRef: { name: "t" }, ...spec },
  };
}
const pvc = (storage: string) => ({
  metadata: { name: "data" },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
});

beforeAll(async () => {
  // The harness (test/integration/harness/global-setup.ts) runs the API server and installs crds/*.yaml.
  kc = new KubeConfig();
  kc.loadFromFile(inject("cluster").kubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  // The harness installs crds/*.yaml; make sure every CRD we generate is there and Established.
  for (const crd of buildCrds()) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const live = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
      const established = live.status?.conditions?.find((c) => c.type === "Established")?.status === "True";
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} never became Established`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await kc
    ?.makeApiClient(CoreV1Api)
    .deleteNamespace({ name: namespace })
    .catch(() => undefined);
});

describe("generated CRDs on a real API server", () => {
  it.each(buildCrds().map((c) => [c.metadata.name, c] as const))(
    "%s is Established with a structural schema and the generated spec",
    async (name: string, crd: CustomResourceDefinition) => {
      const live = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
      const conds = new Map((live.status?.conditions ?? []).map((c) => [c.type, c.status]));
      expect(conds.get("Established")).toBe("True");
      expect(conds.get("NamesAccepted")).toBe("True");
      expect(conds.has("NonStructuralSchema")).toBe(false);
      expect(live.spec.names.shortNames).toEqual(crd.spec.names.shortNames);
      const versions = live.spec.versions.map((v) => [v.name, v.served, v.storage]);
      expect(versions).toEqual([["v1beta1", true, true]]);
      const v = live.spec.versions[0]!;
      expect(v.additionalPrinterColumns?.map((c) => [c.name, c.type, c.jsonPath]) ?? []).toEqual(
        crd.spec.versions[0]!.additionalPrinterColumns?.map((c) => [c.name, c.type, c.jsonPath]) ?? [],
      );
      expect(Boolean(v.subresources?.status)).toBe(Boolean(crd.spec.versions[0]!.subresources?.status));
      expect(v.subresources?.scale?.specReplicasPath).toBe(crd.spec.versions[0]!.subresources?.scale?.specReplicasPath);
    },
  );
});

describe("upstream v1beta1 samples", () => {
  const all = samples();

  it("cover all four kinds", () => {
    expect(new Set(all.map((o) => o.kind))).toEqual(new Set(ALL_RESOURCES.map((r) => r.kind)));
  });

  it.each(all.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))(
    "%s is accepted (strict field validation) and defaulted exactly as zod defaults it",
    async (_label: string, obj: Obj) => {
      const stored = await create(structuredClone(obj));
      const parsed = schemaByKind[obj.kind]!.parse(obj) as { spec: unknown };
      expect(stored.spec).toEqual(parsed.spec);
    },
  );
});

describe("invalid manifests are rejected by the API server, naming the field", () => {
  const cases: Array<[string, Obj, RegExp[]]> = [
    [
      "Sandbox with an unknown operatingMode",
      sandbox("bad-mode", { operatingMode: "Paused" }),
      [/spec\.operatingMode/, /Unsupported value: "Paused"/],
    ],
    ["Sandbox with an unknown shutdownPolicy", sandbox("bad-policy", { shutdownPolicy: "Later" }), [/spec\.shutdownPolicy/]],
    ["Sandbox with a non-date shutdownTime", sandbox("bad-time", { shutdownTime: "tomorrow" }), [/spec\.shutdownTime/]],
    ["Sandbox with service of the wrong type", sandbox("bad-service", { service: "yes" }), [/spec\.service/]],
    ["Sandbox without podTemplate", { ...sandbox("no-template"), spec: {} }, [/spec\.podTemplate: Required value/]],
    [
      "Sandbox without containers",
      sandbox("no-containers", { podTemplate: { spec: {} } }),
      [/spec\.podTemplate\.spec\.containers: Required value/],
    ],
    [
      "Sandbox with a string containerPort",
      sandbox("bad-port", { podTemplate: { spec: { containers: [{ name: "c", ports: [{ containerPort: "http" }] }] } } }),
      [/spec\.podTemplate\.spec\.containers\[0\]\.ports\[0\]\.containerPort/],
    ],
    [
      "Sandbox with a malformed memory quantity",
      sandbox("bad-quantity", { podTemplate: { spec: { containers: [{ name: "c", resources: { limits: { memory: "lots" } } }] } } }),
      [/spec\.podTemplate\.spec\.containers\[0\]\.resources\.limits\.memory/],
    ],
    [
      "Sandbox with a fractional integer field",
      sandbox("bad-int", { podTemplate: { spec: { terminationGracePeriodSeconds: 1.5, containers: [{ name: "c" }] } } }),
      [/spec\.podTemplate\.spec\.terminationGracePeriodSeconds/],
    ],
    [
      "SandboxTemplate with an unknown networkPolicyManagement",
      template("bad-np", { networkPolicyManagement: "Cilium" }),
      [/spec\.networkPolicyManagement/],
    ],
    [
      "SandboxTemplate with an unknown envVarsInjectionPolicy",
      template("bad-env", { envVarsInjectionPolicy: "Sometimes" }),
      [/spec\.envVarsInjectionPolicy/],
    ],
    [
      "SandboxTemplate with an unknown volumeClaimTemplatesPolicy",
      template("bad-vct", { volumeClaimTemplatesPolicy: "Maybe" }),
      [/spec\.volumeClaimTemplatesPolicy/],
    ],
    ["SandboxClaim without warmPoolRef", { ...claim("no-pool"), spec: {} }, [/spec\.warmPoolRef: Required value/]],
    [
      "SandboxClaim with an unknown shutdownPolicy",
      claim("bad-claim-policy", { lifecycle: { shutdownPolicy: "Orphan" } }),
      [/spec\.lifecycle\.shutdownPolicy/],
    ],
    [
      "SandboxClaim with a negative ttlSecondsAfterFinished",
      claim("bad-ttl", { lifecycle: { ttlSecondsAfterFinished: -1 } }),
      [/spec\.lifecycle\.ttlSecondsAfterFinished/],
    ],
    [
      "SandboxClaim with a 64-character label value",
      claim("long-label", { additionalPodMetadata: { labels: { "sandbox.users.io/x": "a".repeat(64) } } }),
      [/spec\.additionalPodMetadata\.labels/, /63/],
    ],
    [
      "SandboxClaim with a label value that is not label syntax",
      claim("bad-label", { additionalPodMetadata: { labels: { "sandbox.users.io/x": "-bad value-" } } }),
      [/spec\.additionalPodMetadata\.labels/],
    ],
    [
      "SandboxClaim with an annotation in a restricted domain",
      claim("restricted-annotation", { additionalPodMetadata: { annotations: { "kubernetes.io/evil": "1" } } }),
      [/spec\.additionalPodMetadata\.annotations/, /reserved/],
    ],
    [
      "SandboxClaim with an annotation in a restricted subdomain",
      claim("restricted-subdomain", { additionalPodMetadata: { annotations: { "node.k8s.io/x": "1" } } }),
      [/spec\.additionalPodMetadata\.annotations/, /reserved/],
    ],
    [
      "SandboxClaim with a label key in the agents.x-k8s.io domain",
      claim("spoofed-label", { additionalPodMetadata: { labels: { "agents.x-k8s.io/sandbox-name-hash": "abc" } } }),
      [/spec\.additionalPodMetadata\.labels/, /reserved/],
    ],
    ["SandboxWarmPool with negative replicas", pool("neg", { replicas: -1 }), [/spec\.replicas/, /greater than or equal to 0/]],
    ["SandboxWarmPool with string replicas", pool("str", { replicas: "two" }), [/spec\.replicas/]],
    ["SandboxWarmPool without sandboxTemplateRef", { ...pool("no-ref"), spec: {} }, [/spec\.sandboxTemplateRef: Required value/]],
    [
      "SandboxWarmPool with an unknown updateStrategy",
      pool("bad-strategy", { updateStrategy: { type: "Rolling" } }),
      [/spec\.updateStrategy\.type/],
    ],
    // Names too long, or not names at all.
    ["Sandbox with a 254-character name", sandbox("a".repeat(254)), [/metadata\.name/, /253/]],
    ["SandboxClaim with a 254-character name", claim("c".repeat(254)), [/metadata\.name/, /253/]],
    ["Sandbox with an upper-case name", sandbox("Not-A-Name"), [/metadata\.name/, /lowercase RFC 1123/]],
    [
      "SandboxClaim with a label key longer than 63 characters",
      claim("long-label-key", { additionalPodMetadata: { labels: { [`sandbox.users.io/${"k".repeat(64)}`]: "v" } } }),
      [/spec\.additionalPodMetadata\.labels/],
    ],
    // Wrong types.
    [
      "SandboxClaim with an env entry without a name",
      claim("env-no-name", { env: [{ value: "x" }] }),
      [/spec\.env\[0\]\.name: Required value/],
    ],
    ["SandboxClaim with a numeric env value", claim("env-number", { env: [{ name: "N", value: 3 }] }), [/spec\.env\[0\]\.value/]],
    ["Sandbox with a numeric operatingMode", sandbox("num-mode", { operatingMode: 1 }), [/spec\.operatingMode/]],
    ["SandboxWarmPool with fractional replicas", pool("frac", { replicas: 1.5 }), [/spec\.replicas/]],
    // Out of range.
    ["SandboxWarmPool with replicas beyond int32", pool("huge", { replicas: 3_000_000_000 }), [/spec\.replicas/]],
    // Pod-spec ranges (a containerPort above 65535) are checked when the operator writes the
    // Pod; the Sandbox then names the field on its Ready condition (controllers/refused-pod.test.ts).
    // Reserved labels: keys the operator uses to select and own pods.
    [
      "SandboxClaim with a label key in the extensions.agents.x-k8s.io domain",
      claim("spoofed-ext-label", { additionalPodMetadata: { labels: { "extensions.agents.x-k8s.io/sandbox-claim": "other" } } }),
      [/spec\.additionalPodMetadata\.labels/, /reserved/],
    ],
    // Reserved keys in a Sandbox's own podTemplate are admitted, as upstream admits them, and
    // dropped by the operator when it writes the Pod (unit/controllers/sandbox desired-pod tests).
  ];

  it.each(cases)("%s", async (_label, obj, patterns) => {
    const message = await rejection(obj);
    expect(message).toMatch(/^422 /);
    for (const p of patterns) expect(message).toMatch(p);
  });

  it("accepts the one annotation exempt from the restricted domains", async () => {
    const ok = await create(
      claim("safe-to-evict", {
        additionalPodMetadata: { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } },
      }),
    );
    expect(ok.metadata.name).toBe("safe-to-evict");
  });

  it("rejects unknown fields under strict field validation", async () => {
    const message = await rejection(sandbox("unknown-field", { replicas: 1 }));
    expect(message).toMatch(/unknown field "spec\.replicas"/);
  });

  it.each([
    [
      "a nested spec field",
      claim("unknown-nested", { lifecycle: { shutdownPolicy: "Delete", after: "1h" } }),
      /unknown field "spec\.lifecycle\.after"/,
    ],
    ["a top-level field", { ...pool("unknown-top"), specification: {} }, /unknown field "specification"/],
    [
      "a container field",
      sandbox("unknown-container", { podTemplate: { spec: { containers: [{ name: "c", imagee: "busybox" }] } } }),
      /unknown field "spec\.podTemplate\.spec\.containers\[0\]\.imagee"/,
    ],
    ["a template field", template("unknown-template", { envVarsInjection: "Allowed" }), /unknown field "spec\.envVarsInjection"/],
    // A map where a list belongs is refused while decoding (400), naming the field.
    ["env given as a map", claim("env-map", { env: { API_KEY: "x" } }), /unknown field "spec\.env\.API_KEY"/],
  ])("rejects an unknown field: %s", async (_label, obj, pattern) => {
    expect(await rejection(obj as Obj)).toMatch(pattern);
  });
});

describe("volumeClaimTemplates are immutable (CEL)", () => {
  const g = gvkOf("Sandbox");
  const replaceSpec = async (name: string, mutate: (spec: Record<string, unknown>) => void): Promise<string | undefined> => {
    const current = (await custom.getNamespacedCustomObject({
      group: g.group,
      version: g.version,
      namespace,
      plural: g.plural,
      name,
    })) as Obj & {
      spec: Record<string, unknown>;
    };
    mutate(current.spec);
    try {
      await custom.replaceNamespacedCustomObject({ group: g.group, version: g.version, namespace, plural: g.plural, name, body: current });
      return undefined;
    } catch (err) {
      return apiMessage(err);
    }
  };

  it("changing, removing or adding volumeClaimTemplates is rejected; other edits are not", async () => {
    await create(sandbox("with-vct", { volumeClaimTemplates: [pvc("1Gi")] }));
    await create(sandbox("without-vct"));

    const changed = await replaceSpec("with-vct", (s) => (s.volumeClaimTemplates = [pvc("2Gi")]));
    expect(changed).toMatch(/^422 /);
    expect(changed).toMatch(/spec\.volumeClaimTemplates: Invalid value.*volumeClaimTemplates is immutable/);

    const removed = await replaceSpec("with-vct", (s) => delete s.volumeClaimTemplates);
    expect(removed).toMatch(/volumeClaimTemplates is immutable/);

    const added = await replaceSpec("without-vct", (s) => (s.volumeClaimTemplates = [pvc("1Gi")]));
    expect(added).toMatch(/volumeClaimTemplates is immutable/);

    expect(await replaceSpec("with-vct", (s) => (s.operatingMode = "Suspended"))).toBeUndefined();
  });
});

describe("subresources and printer columns", () => {
  it("SandboxWarmPool scale subresource reads and writes spec.replicas", async () => {
    const g = gvkOf("SandboxWarmPool");
    await create(pool("scalable", { replicas: 2 }));
    const ref = { group: g.group, version: g.version, namespace, plural: g.plural, name: "scalable" };
    const scale = (await custom.getNamespacedCustomObjectScale(ref)) as { spec?: { replicas?: number }; status?: unknown };
    expect(scale.spec?.replicas).toBe(2);
    // What an HPA does: write the scale subresource, which lands in spec.replicas.
    await custom.replaceNamespacedCustomObjectScale({ ...ref, body: { ...scale, spec: { replicas: 5 } } });
    const after = (await custom.getNamespacedCustomObject({
      group: g.group,
      version: g.version,
      namespace,
      plural: g.plural,
      name: "scalable",
    })) as {
      spec: { replicas: number };
    };
    expect(after.spec.replicas).toBe(5);
  });

  it("status is a subresource: a spec update does not change status, /status does", async () => {
    const g = gvkOf("Sandbox");
    await create(sandbox("status-sub"));
    const status = { serviceFQDN: "status-sub.x.svc.cluster.local", podIPs: ["10.0.0.1"] };
    await custom.replaceNamespacedCustomObjectStatus({
      group: g.group,
      version: g.version,
      namespace,
      plural: g.plural,
      name: "status-sub",
      body: {
        ...(await custom.getNamespacedCustomObject({
          group: g.group,
          version: g.version,
          namespace,
          plural: g.plural,
          name: "status-sub",
        })),
        status,
      },
    });
    const got = (await custom.getNamespacedCustomObject({
      group: g.group,
      version: g.version,
      namespace,
      plural: g.plural,
      name: "status-sub",
    })) as {
      status?: unknown;
    };
    expect(got.status).toEqual(status);
  });

  it("kubectl-style table output shows upstream's printer columns", async () => {
    const g = gvkOf("SandboxClaim");
    const res = await getRaw(
      `/apis/${g.group}/${g.version}/namespaces/${namespace}/${g.plural}`,
      "application/json;as=Table;v=v1;g=meta.k8s.io",
    );
    expect(res.status).toBe(200);
    const table = JSON.parse(res.body) as { columnDefinitions: Array<{ name: string }> };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Ready", "Sandbox", "Reason", "Age"]);
  });
});

describe("with kubectl, the way users install and use them", () => {
  const run = promisify(execFile);
  const kubectl = async (...args: string[]): Promise<string> => {
    const { kubeconfig, bin } = inject("cluster");
    const { stdout } = await run(join(bin.k8s, "kubectl"), ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 << 20 });
    return stdout;
  };

  it("client-side `kubectl apply -f crds/` works (each CRD fits the last-applied annotation)", async () => {
    const out = await kubectl("apply", "-f", resolve(import.meta.dirname, "../../crds"));
    expect(out.trim().split("\n")).toHaveLength(4);
  });

  it("`kubectl apply -f` accepts every upstream sample file", async () => {
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith(".yaml"));
    const ns = `${namespace}-kubectl`;
    await kubectl("create", "namespace", ns);
    for (const f of files) {
      const out = await kubectl("apply", "-n", ns, "-f", join(SAMPLES, f));
      expect(out).toMatch(/created/);
    }
    const table = await kubectl("get", "sandboxes", "-n", ns);
    expect(table.split("\n")[0]?.split(/\s+/).filter(Boolean)).toEqual(["NAME", "READY", "REASON", "AGE"]);
    await kubectl("delete", "namespace", ns, "--wait=false");
  });

  it("`kubectl get swp` uses the short name and shows Ready/Desired", async () => {
    const out = await kubectl("get", "swp", "-n", namespace, "scalable", "-o", "custom-columns=DESIRED:.spec.replicas");
    expect(out).toMatch(/5/);
    const header = (await kubectl("get", "swp", "-n", namespace)).split("\n")[0];
    expect(header?.split(/\s+/).filter(Boolean)).toEqual(["NAME", "READY", "DESIRED", "AGE"]);
  });

  it("`kubectl explain` shows the field documentation", async () => {
    // kubectl wraps the text; compare with whitespace collapsed.
    const flat = (s: string) => s.replace(/\s+/g, " ");
    const out = flat(await kubectl("explain", "sandbox.spec.operatingMode"));
    expect(out).toMatch(/ENUM: Running Suspended/);
    expect(out).toMatch(/Suspended terminates the backing Pod/);
    const claim = flat(await kubectl("explain", "sandboxclaim.spec.lifecycle.shutdownPolicy"));
    expect(claim).toMatch(/DeleteForeground deletes it with foreground cascading/);
  });
});
