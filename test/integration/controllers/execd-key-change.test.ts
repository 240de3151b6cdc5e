// The execution servers' trusted keys are fixed when a pod is created: an operator restarted with
// another key gives it to new sandboxes only, and leaves running ones (and their sessions) alone.
// Rotation relies on this (SECURITY.md, "Execution-server tokens").
import { generateKeyPairSync } from "node:crypto";
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePublicKey } from "../../../src/execd-token/index.js";
import type { Kube } from "../../../src/runtime/index.js";
import { freshNamespace, testKube, waitFor } from "../harness/cluster.js";
import { condition, sandboxManifest, startOperator, testConfig, type RunningOperator } from "./operator-fixture.js";

const SB = { apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox" } as const;
const oldKey = encodePublicKey(generateKeyPairSync("ed25519").publicKey);
const newKey = encodePublicKey(generateKeyPairSync("ed25519").publicKey);
let kube: Kube;
let ns: string;
let operator: RunningOperator | undefined;

beforeAll(async () => {
  kube = testKube();
  ns = await freshNamespace("execd-key-change");
});
afterAll(async () => {
  await operator?.stop();
});

const pod = (name: string) => kube.get<V1Pod & KubernetesObject>({ apiVersion: "v1", kind: "Pod", namespace: ns, name });
const sidecarArgs = (p: V1Pod) => p.spec?.initContainers?.find((c) => c.name === "sandbox-execd")?.args ?? [];
const ready = (name: string) =>
  waitFor(async () => condition(await kube.get({ ...SB, namespace: ns, name }), "Ready")?.status === "True", {
    timeoutMs: 30_000,
    message: `Sandbox ${name} Ready`,
  });

describe("changing the execution servers' trusted key", () => {
  it("reaches new sandboxes only; a running sandbox keeps its pod and the key it started with", async () => {
    operator = await startOperator({ ...testConfig, execdTrustedKeys: [oldKey] });
    await kube.create(sandboxManifest(ns, "running"));
    await ready("running");
    const before = await pod("running");
    expect(sidecarArgs(before)).toContain(oldKey);
    await operator.stop();

    operator = await startOperator({ ...testConfig, execdTrustedKeys: [newKey] });
    // A change the operator acts on (a pod label from the template), to be sure it reconciled.
    await kube.patch(
      { ...SB, namespace: ns, name: "running" },
      { spec: { podTemplate: { metadata: { labels: { app: "agent", touched: "yes" } } } } },
      { type: "merge" },
    );
    await waitFor(async () => (await pod("running")).metadata?.labels?.["touched"] === "yes", {
      timeoutMs: 30_000,
      message: "pod relabelled by the restarted operator",
    });
    const after = await pod("running");
    expect(after.metadata?.uid).toBe(before.metadata?.uid);
    expect(sidecarArgs(after)).toEqual(sidecarArgs(before));
    await ready("running");

    await kube.create(sandboxManifest(ns, "fresh"));
    await ready("fresh");
    const fresh = sidecarArgs(await pod("fresh"));
    expect(fresh).toContain(newKey);
    expect(fresh).not.toContain(oldKey);
  });
});
