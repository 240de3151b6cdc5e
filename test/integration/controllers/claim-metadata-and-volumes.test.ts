// What the SandboxClaim controller writes on the claim besides its status, and how it checks the
// claim's volume claim templates, against a real API server: the cases of upstream's e2e tests
// sandboxclaim_metric_test.go (the first-observed annotation) and sandboxclaim_vct_test.go (the
// adopted Sandbox's name on warm adoption; VolumeClaimTemplatesError with upstream's messages).
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIELD_MANAGER, type Kube } from "../../../src/runtime/index.js";
import { freshNamespace, testKube, waitFor } from "../harness/cluster.js";
import {
  claimManifest,
  condition,
  poolManifest,
  startOperator,
  templateManifest,
  type RunningOperator,
  waitClaimReady,
  waitPoolReady,
} from "./operator-fixture.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
const SB = "agents.x-k8s.io/v1beta1";
const FIRST_OBSERVED = "agents.x-k8s.io/controller-first-observed-at";
const SANDBOX_NAME = "agents.x-k8s.io/sandbox-name";
/** Go's time.RFC3339Nano as this operator writes it (UTC). */
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

let kube: Kube;
let operator: RunningOperator;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
});
afterAll(async () => {
  await operator?.stop();
});

const getClaim = (ns: string, name: string) => kube.get<Obj>({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name });
const getSandbox = (ns: string, name: string) => kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace: ns, name });
const readyClaim = (ns: string, name: string) => waitClaimReady(kube, ns, name);
const claimReason = (ns: string, name: string, reason: string) =>
  waitFor(
    async () => {
      const c = await getClaim(ns, name);
      return condition(c, "Ready")?.reason === reason ? c : undefined;
    },
    { timeoutMs: 30_000, message: `claim ${name} Ready reason ${reason}` },
  );
const poolReady = (ns: string, name: string, replicas: number) => waitPoolReady(kube, ns, name, replicas);
const annotationsOf = (o: KubernetesObject) => o.metadata?.annotations ?? {};
const vct = (name: string, size: string) => ({
  metadata: { name },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
});
const unnamedVct = (size: string) => ({
  metadata: {},
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
});

/** The first-observed value parsed as the upstream test does: RFC3339Nano, with a fraction. */
function firstObserved(claim: KubernetesObject): { raw: string; ms: number } {
  const raw = annotationsOf(claim)[FIRST_OBSERVED] ?? "";
  expect(raw).toMatch(RFC3339_NANO);
  expect(raw).toContain(".");
  return { raw, ms: Date.parse(raw) };
}

/** Which field manager, with which operation, owns an annotation key. */
function annotationOwner(obj: KubernetesObject, key: string): { manager?: string; operation?: string; subresource?: string } | undefined {
  const entries =
    (obj.metadata as { managedFields?: { manager?: string; operation?: string; subresource?: string; fieldsV1?: unknown }[] })
      .managedFields ?? [];
  return entries.find((e) => JSON.stringify(e.fieldsV1 ?? {}).includes(JSON.stringify(`f:${key}`)));
}

describe("claim annotations", () => {
  it("a warm adoption names the adopted Sandbox and stamps the first-observed time, both before Ready", async () => {
    const ns = await freshNamespace("claim-anno-warm");
    await kube.create(templateManifest(ns, "tmpl"));
    await kube.create(poolManifest(ns, "pool", "tmpl", 1));
    await poolReady(ns, "pool", 1);

    const startMs = Date.now();
    await kube.create(claimManifest(ns, "warm-claim", "pool"));
    const claim = await readyClaim(ns, "warm-claim");

    const sandboxName = (claim.status?.["sandbox"] as { name?: string } | undefined)?.name;
    expect(sandboxName).toBeTruthy();
    expect(sandboxName).not.toBe("warm-claim");
    expect(annotationsOf(claim)[SANDBOX_NAME]).toBe(sandboxName);
    const sandbox = await getSandbox(ns, sandboxName ?? "");
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("warm");

    const observed = firstObserved(claim);
    // The operator runs in this process: same clock, and the fraction is truncated by Date.parse.
    expect(observed.ms).toBeGreaterThanOrEqual(startMs);
    expect(observed.ms).toBeLessThanOrEqual(Date.now());
    // One merge patch by this operator's field manager (an Update, not an apply).
    for (const key of [FIRST_OBSERVED, SANDBOX_NAME]) {
      expect(annotationOwner(claim, key)).toMatchObject({ manager: FIELD_MANAGER, operation: "Update" });
      expect(annotationOwner(claim, key)?.subresource).toBeUndefined();
    }

    // Written once: later passes (woken here by a label edit) leave the value alone.
    await kube.patch(
      { apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name: "warm-claim" },
      { metadata: { labels: { poke: "1" } } },
      { type: "merge" },
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const later = await getClaim(ns, "warm-claim");
    expect(annotationsOf(later)[FIRST_OBSERVED]).toBe(observed.raw);
    expect(annotationsOf(later)[SANDBOX_NAME]).toBe(sandboxName);
  });

  it("a cold start stamps the first-observed time but names no Sandbox (it bears the claim's name)", async () => {
    const ns = await freshNamespace("claim-anno-cold");
    await kube.create(templateManifest(ns, "tmpl"));
    await kube.create(poolManifest(ns, "pool", "tmpl", 0));
    await kube.create(claimManifest(ns, "cold-claim", "pool"));
    const claim = await readyClaim(ns, "cold-claim");
    expect((claim.status?.["sandbox"] as { name?: string } | undefined)?.name).toBe("cold-claim");
    expect((await getSandbox(ns, "cold-claim")).metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("cold");
    firstObserved(claim);
    expect(annotationsOf(claim)).not.toHaveProperty(SANDBOX_NAME);
  });

  it("keeps a first-observed time the claim was created with", async () => {
    const ns = await freshNamespace("claim-anno-kept");
    await kube.create(templateManifest(ns, "tmpl"));
    await kube.create(poolManifest(ns, "pool", "tmpl", 0));
    const manifest = claimManifest(ns, "preset", "pool");
    manifest.metadata = { ...manifest.metadata, annotations: { [FIRST_OBSERVED]: "2026-01-02T03:04:05.5Z" } };
    await kube.create(manifest);
    const claim = await readyClaim(ns, "preset");
    expect(annotationsOf(claim)[FIRST_OBSERVED]).toBe("2026-01-02T03:04:05.5Z");
  });
});

describe("claim volumeClaimTemplates (upstream's e2e cases and messages)", () => {
  async function setUp(prefix: string, policy: string | undefined, templateVCTs: unknown[] = []): Promise<string> {
    const ns = await freshNamespace(prefix);
    await kube.create(
      templateManifest(ns, "vct-template", {
        ...(policy ? { volumeClaimTemplatesPolicy: policy } : {}),
        ...(templateVCTs.length ? { volumeClaimTemplates: templateVCTs } : {}),
      }),
    );
    await kube.create(poolManifest(ns, "vct-warmpool", "vct-template", 0));
    return ns;
  }
  const refused = async (ns: string, claimVCTs: unknown[], message: string) => {
    await kube.create(claimManifest(ns, "vct-claim", "vct-warmpool", { volumeClaimTemplates: claimVCTs }));
    const claim = await claimReason(ns, "vct-claim", "VolumeClaimTemplatesError");
    expect(condition(claim, "Ready")).toMatchObject({ status: "False", message });
    // Refused claims are stamped too; no Sandbox is created for them.
    firstObserved(claim);
    await expect(getSandbox(ns, "vct-claim")).rejects.toThrow();
  };

  it("refuses an entry without a name", async () => {
    const ns = await setUp("vct-unnamed", "Allowed");
    await refused(
      ns,
      [unnamedVct("2Gi")],
      "failed to merge volume claim templates: claim: invalid volume claim templates: name at index 0 is empty",
    );
  });

  it("refuses a name used twice", async () => {
    const ns = await setUp("vct-duplicate", "Allowed");
    await refused(
      ns,
      [vct("custom-data", "2Gi"), vct("custom-data", "2Gi")],
      'failed to merge volume claim templates: claim: invalid volume claim templates: duplicate name "custom-data"',
    );
  });

  it("refuses any under Disallowed and under no policy", async () => {
    for (const policy of ["Disallowed", undefined]) {
      const ns = await setUp("vct-disallowed", policy);
      await refused(
        ns,
        [vct("custom-data", "2Gi")],
        "failed to merge volume claim templates: volume claim templates are disallowed by the template",
      );
    }
  });

  it("refuses overriding the template's volume under Allowed", async () => {
    const ns = await setUp("vct-override", "Allowed", [vct("workspace", "1Gi")]);
    await refused(
      ns,
      [vct("workspace", "2Gi")],
      'failed to merge volume claim templates: overriding volume claim templates is forbidden by the template: cannot override template volume "workspace"',
    );
  });

  it("refuses a cold start from a template whose own list is invalid", async () => {
    const ns = await setUp("vct-bad-template", "Allowed", [vct("data", "1Gi"), vct("data", "1Gi")]);
    await kube.create(claimManifest(ns, "vct-claim", "vct-warmpool"));
    const claim = await claimReason(ns, "vct-claim", "VolumeClaimTemplatesError");
    expect(condition(claim, "Ready")?.message).toBe(
      'invalid volume claim templates in template: invalid volume claim templates: duplicate name "data"',
    );
  });

  it("cold-starts with the merged list under Overrides and creates its PVCs", async () => {
    const ns = await setUp("vct-overrides", "Overrides", [vct("workspace", "1Gi")]);
    await kube.create(
      claimManifest(ns, "vct-claim", "vct-warmpool", { volumeClaimTemplates: [vct("workspace", "3Gi"), vct("custom-data", "2Gi")] }),
    );
    const sandbox = await waitFor(() => getSandbox(ns, "vct-claim").catch(() => undefined), { message: "cold Sandbox" });
    expect(sandbox.metadata?.labels?.["agents.x-k8s.io/launch-type"]).toBe("cold");
    const vcts = (sandbox.spec?.["volumeClaimTemplates"] ?? []) as {
      metadata?: { name?: string };
      spec?: { resources?: { requests?: Record<string, string> } };
    }[];
    expect(vcts.map((v) => [v.metadata?.name, v.spec?.resources?.requests?.["storage"]])).toEqual([
      ["workspace", "3Gi"],
      ["custom-data", "2Gi"],
    ]);
    for (const [name, size] of [
      ["workspace", "3Gi"],
      ["custom-data", "2Gi"],
    ] as const) {
      const pvc = await waitFor(
        () =>
          kube
            .get<Obj>({ apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: ns, name: `${name}-vct-claim` })
            .catch(() => undefined),
        { message: `PVC ${name}-vct-claim` },
      );
      expect((pvc.spec?.["resources"] as { requests?: Record<string, string> }).requests?.["storage"]).toBe(size);
    }
    const claim = await getClaim(ns, "vct-claim");
    expect(annotationsOf(claim)).not.toHaveProperty(SANDBOX_NAME);
  });
});
