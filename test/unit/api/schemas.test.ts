import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { V1PersistentVolumeClaimSpec, V1PodSpec } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  SandboxClaimSchema,
  SandboxSchema,
  SandboxTemplateSchema,
  SandboxWarmPoolSchema,
  ConditionSchema,
  parseResource,
  type Sandbox,
} from "../../../src/api/index.js";

const SAMPLES = join(import.meta.dirname, "../../fixtures/upstream-samples");
const schemaByKind: Record<string, z.ZodType> = {
  Sandbox: SandboxSchema,
  SandboxTemplate: SandboxTemplateSchema,
  SandboxClaim: SandboxClaimSchema,
  SandboxWarmPool: SandboxWarmPoolSchema,
};

function samples(): Array<{ file: string; doc: Record<string, unknown> }> {
  return readdirSync(SAMPLES)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(SAMPLES, file), "utf8")).map((d) => ({
        file,
        doc: d.toJS() as Record<string, unknown>,
      })),
    );
}

/** The issue paths zod reports, joined the way kubectl shows field paths. */
function issuePaths(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  // One field can fail several checks (e.g. empty and not matching a pattern): report it once.
  return [...new Set(r.error.issues.map((i) => i.path.join(".")))];
}

const minimalSandbox = () => ({
  apiVersion: "agents.x-k8s.io/v1beta1",
  kind: "Sandbox",
  metadata: { name: "s" },
  spec: { podTemplate: { spec: { containers: [{ name: "c", image: "busybox" }] } } },
});

describe("upstream v1beta1 samples", () => {
  const all = samples();
  it("covers all four kinds", () => {
    expect(new Set(all.map((s) => s.doc.kind))).toEqual(new Set(Object.keys(schemaByKind)));
  });
  for (const { file, doc } of all) {
    it(`${file} (${String(doc.kind)} ${String((doc.metadata as { name: string }).name)}) parses`, () => {
      const schema = schemaByKind[String(doc.kind)];
      expect(schema).toBeDefined();
      const r = schema!.safeParse(doc);
      expect(r.success ? "" : r.error.message).toBe("");
    });
  }
});

describe("defaults", () => {
  it("Sandbox: operatingMode Running, shutdownPolicy Retain, port protocol TCP, quantities as strings", () => {
    const input = minimalSandbox();
    input.spec.podTemplate.spec.containers[0] = {
      name: "c",
      image: "busybox",
      ports: [{ containerPort: 8888 }],
      resources: { requests: { cpu: 1, memory: "512Mi" } },
    } as never;
    const s: Sandbox = SandboxSchema.parse(input);
    expect(s.spec.operatingMode).toBe("Running");
    expect(s.spec.shutdownPolicy).toBe("Retain");
    const c = s.spec.podTemplate.spec.containers[0]!;
    expect(c.ports?.[0]?.protocol).toBe("TCP");
    expect(c.resources?.requests).toEqual({ cpu: "1", memory: "512Mi" });
    // Round trip: the parsed output is itself a valid input and parses to the same value.
    expect(SandboxSchema.parse(s)).toEqual(s);
  });

  it("SandboxTemplate: Managed / Disallowed / Disallowed", () => {
    const t = SandboxTemplateSchema.parse({
      apiVersion: "extensions.agents.x-k8s.io/v1beta1",
      kind: "SandboxTemplate",
      metadata: { name: "t" },
      spec: { podTemplate: { spec: { containers: [{ name: "c" }] } } },
    });
    expect(t.spec.networkPolicyManagement).toBe("Managed");
    expect(t.spec.envVarsInjectionPolicy).toBe("Disallowed");
    expect(t.spec.volumeClaimTemplatesPolicy).toBe("Disallowed");
  });

  it("SandboxWarmPool: replicas 1, updateStrategy.type OnReplenish when the strategy is given", () => {
    const base = {
      apiVersion: "extensions.agents.x-k8s.io/v1beta1",
      kind: "SandboxWarmPool",
      metadata: { name: "p" },
      spec: { sandboxTemplateRef: { name: "t" } },
    } as const;
    expect(SandboxWarmPoolSchema.parse(base).spec.replicas).toBe(1);
    const withStrategy = SandboxWarmPoolSchema.parse({ ...base, spec: { ...base.spec, updateStrategy: {} } });
    expect(withStrategy.spec.updateStrategy?.type).toBe("OnReplenish");
  });

  it("SandboxClaim: lifecycle.shutdownPolicy Retain", () => {
    const c = SandboxClaimSchema.parse({
      apiVersion: "extensions.agents.x-k8s.io/v1beta1",
      kind: "SandboxClaim",
      metadata: { name: "c" },
      spec: { warmPoolRef: { name: "p" }, lifecycle: { ttlSecondsAfterFinished: 0 } },
    });
    expect(c.spec.lifecycle?.shutdownPolicy).toBe("Retain");
  });
});

describe("invalid objects are rejected, naming the field", () => {
  it("bad operatingMode enum", () => {
    const s = minimalSandbox();
    expect(issuePaths(SandboxSchema, { ...s, spec: { ...s.spec, operatingMode: "Paused" } })).toEqual(["spec.operatingMode"]);
  });

  it("bad shutdownPolicy and non-date shutdownTime", () => {
    const s = minimalSandbox();
    const paths = issuePaths(SandboxSchema, {
      ...s,
      spec: { ...s.spec, shutdownPolicy: "Later", shutdownTime: "tomorrow" },
    });
    expect(paths.sort()).toEqual(["spec.shutdownPolicy", "spec.shutdownTime"]);
  });

  it("missing containers in the pod spec", () => {
    const s = minimalSandbox();
    expect(issuePaths(SandboxSchema, { ...s, spec: { podTemplate: { spec: {} } } })).toEqual(["spec.podTemplate.spec.containers"]);
  });

  it("wrong types deep in the pod spec", () => {
    const s = minimalSandbox();
    const bad = structuredClone(s) as unknown as { spec: { podTemplate: { spec: Record<string, unknown> } } };
    bad.spec.podTemplate.spec.containers = [{ name: "c", ports: [{ containerPort: "http" }] }];
    expect(issuePaths(SandboxSchema, bad)).toEqual(["spec.podTemplate.spec.containers.0.ports.0.containerPort"]);
  });

  it("malformed quantity", () => {
    const s = minimalSandbox();
    const bad = structuredClone(s) as unknown as { spec: { podTemplate: { spec: Record<string, unknown> } } };
    bad.spec.podTemplate.spec.containers = [{ name: "c", resources: { limits: { memory: "lots" } } }];
    expect(issuePaths(SandboxSchema, bad)).toEqual(["spec.podTemplate.spec.containers.0.resources.limits.memory"]);
  });

  it("negative and fractional warm pool replicas", () => {
    const pool = (replicas: number) => ({
      apiVersion: "extensions.agents.x-k8s.io/v1beta1",
      kind: "SandboxWarmPool",
      metadata: { name: "p" },
      spec: { replicas, sandboxTemplateRef: { name: "t" } },
    });
    expect(issuePaths(SandboxWarmPoolSchema, pool(-1))).toEqual(["spec.replicas"]);
    expect(issuePaths(SandboxWarmPoolSchema, pool(1.5))).toEqual(["spec.replicas"]);
    expect(issuePaths(SandboxWarmPoolSchema, pool(2 ** 31))).toEqual(["spec.replicas"]);
  });

  it("bad updateStrategy / claim shutdownPolicy / template policies", () => {
    expect(
      issuePaths(SandboxWarmPoolSchema, {
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxWarmPool",
        metadata: {},
        spec: { sandboxTemplateRef: { name: "t" }, updateStrategy: { type: "Rolling" } },
      }),
    ).toEqual(["spec.updateStrategy.type"]);
    expect(
      issuePaths(SandboxClaimSchema, {
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxClaim",
        metadata: {},
        spec: { warmPoolRef: { name: "p" }, lifecycle: { shutdownPolicy: "Orphan", ttlSecondsAfterFinished: -5 } },
      }).sort(),
    ).toEqual(["spec.lifecycle.shutdownPolicy", "spec.lifecycle.ttlSecondsAfterFinished"]);
    expect(
      issuePaths(SandboxTemplateSchema, {
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxTemplate",
        metadata: {},
        spec: {
          podTemplate: { spec: { containers: [{ name: "c" }] } },
          networkPolicyManagement: "Cilium",
          envVarsInjectionPolicy: "Sometimes",
        },
      }).sort(),
    ).toEqual(["spec.envVarsInjectionPolicy", "spec.networkPolicyManagement"]);
  });

  it("claim without warmPoolRef, and label values longer than 63 characters", () => {
    expect(
      issuePaths(SandboxClaimSchema, {
        apiVersion: "extensions.agents.x-k8s.io/v1beta1",
        kind: "SandboxClaim",
        metadata: {},
        spec: { additionalPodMetadata: { labels: { "sandbox.users.io/x": "a".repeat(64) } } },
      }).sort(),
    ).toEqual(["spec.additionalPodMetadata.labels.sandbox.users.io/x", "spec.warmPoolRef"]);
  });

  it("claim metadata keys in restricted domains (the CRD's CEL rules, mirrored in zod)", () => {
    const claim = (meta: Record<string, unknown>) => ({
      apiVersion: "extensions.agents.x-k8s.io/v1beta1",
      kind: "SandboxClaim",
      metadata: {},
      spec: { warmPoolRef: { name: "p" }, additionalPodMetadata: meta },
    });
    expect(issuePaths(SandboxClaimSchema, claim({ annotations: { "kubernetes.io/x": "1" } }))).toEqual([
      "spec.additionalPodMetadata.annotations.kubernetes.io/x",
    ]);
    expect(issuePaths(SandboxClaimSchema, claim({ annotations: { "node.k8s.io/x": "1" } }))).toEqual([
      "spec.additionalPodMetadata.annotations.node.k8s.io/x",
    ]);
    expect(issuePaths(SandboxClaimSchema, claim({ labels: { "extensions.agents.x-k8s.io/x": "1" } }))).toEqual([
      "spec.additionalPodMetadata.labels.extensions.agents.x-k8s.io/x",
    ]);
    expect(
      issuePaths(
        SandboxClaimSchema,
        claim({
          labels: { "sandbox.users.io/team": "a", app: "x", "notkubernetes.io/y": "1" },
          annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false", "example.com/k8s.io": "1" },
        }),
      ),
    ).toEqual([]);
  });

  it("wrong apiVersion or kind", () => {
    expect(issuePaths(SandboxSchema, { ...minimalSandbox(), apiVersion: "agents.x-k8s.io/v1alpha1" })).toEqual(["apiVersion"]);
    expect(issuePaths(SandboxSchema, { ...minimalSandbox(), kind: "Pod" })).toEqual(["kind"]);
  });

  it("condition fields follow metav1.Condition", () => {
    const ok = { type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z", reason: "Ok", message: "" };
    expect(ConditionSchema.safeParse(ok).success).toBe(true);
    expect(issuePaths(ConditionSchema, { ...ok, status: "Yes" })).toEqual(["status"]);
    expect(issuePaths(ConditionSchema, { ...ok, reason: "" })).toEqual(["reason"]);
    expect(issuePaths(ConditionSchema, { ...ok, reason: "has space" })).toEqual(["reason"]);
    expect(issuePaths(ConditionSchema, { ...ok, type: "bad type!" })).toEqual(["type"]);
    expect(issuePaths(ConditionSchema, { ...ok, observedGeneration: -1 })).toEqual(["observedGeneration"]);
    expect(issuePaths(ConditionSchema, { ...ok, message: "m".repeat(32769) })).toEqual(["message"]);
  });
});

describe("TypeScript types", () => {
  it("a parsed Sandbox pod spec is a client-node V1PodSpec and a VCT spec a V1PersistentVolumeClaimSpec", () => {
    const parsed = SandboxSchema.parse({
      ...minimalSandbox(),
      spec: {
        ...minimalSandbox().spec,
        volumeClaimTemplates: [
          { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
        ],
      },
    });
    // These assignments are the real assertion: they must type-check (npm run typecheck).
    const podSpec: V1PodSpec = parsed.spec.podTemplate.spec;
    const pvcSpec: V1PersistentVolumeClaimSpec | undefined = parsed.spec.volumeClaimTemplates?.[0]?.spec;
    expect(podSpec.containers[0]?.name).toBe("c");
    expect(pvcSpec?.resources?.requests?.storage).toBe("1Gi");
  });
});

describe("parseResource", () => {
  it("returns the parsed value or one message naming every bad field", () => {
    const ok = parseResource(SandboxSchema, minimalSandbox());
    expect(ok.ok && ok.value.spec.operatingMode).toBe("Running");
    const bad = minimalSandbox() as unknown as { spec: Record<string, unknown> };
    bad.spec.operatingMode = "Paused";
    (bad.spec.podTemplate as { spec: { containers: unknown[] } }).spec.containers = [{ name: 7 }];
    const r = parseResource(SandboxSchema, bad);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain("spec.operatingMode: ");
      expect(r.message).toContain("spec.podTemplate.spec.containers[0].name: ");
    }
  });
});
