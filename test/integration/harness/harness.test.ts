// Checks that the harness control plane provides what later tests rely on.
import type { KubernetesObject } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { ForbiddenError, NotFoundError } from "../../../src/runtime/errors.js";
import { Kube } from "../../../src/runtime/kube.js";
import { controllerRef } from "../../../src/runtime/ownerrefs.js";
import { clusterInfo, FAKE_NODE_TOLERATION, freshNamespace, markPodReady, testKube, userKubeConfig, waitFor } from "./cluster.js";

const kube = testKube();

interface Pod extends KubernetesObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

const podReady = (p: Pod | undefined): boolean => p?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

describe("integration harness", () => {
  let ns = "";
  beforeAll(async () => {
    ns = await freshNamespace("harness");
  });

  it("exposes the admin kubeconfig through inject() and AGENT_SANDBOX_TEST_KUBECONFIG", () => {
    expect(clusterInfo().kubeconfig).toMatch(/admin\.kubeconfig$/);
    expect(process.env["AGENT_SANDBOX_TEST_KUBECONFIG"]).toBe(clusterInfo().kubeconfig);
  });

  it("authenticates static-token users and enforces RBAC for them", async () => {
    const alice = new Kube(userKubeConfig("alice"));
    await expect(alice.list({ apiVersion: "v1", kind: "Pod" }, { namespace: ns })).rejects.toBeInstanceOf(ForbiddenError);
    expect(Object.keys(clusterInfo().users).sort()).toEqual(["alice", "bob", "carol", "dave"]);
  });

  it("signs service-account tokens that TokenReview accepts", async () => {
    await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace: ns } });
    const tr = await kube.request<{ status?: { token?: string } }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    expect(token).toBeTruthy();
    const review = await kube.request<{ status?: { authenticated?: boolean; user?: { username?: string } } }>(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      },
    );
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${ns}:robot`);
  });

  it("runs the garbage collector: children with an owner reference go with their owner", async () => {
    const owner = await kube.create<KubernetesObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owner", namespace: ns } });
    await kube.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "child", namespace: ns, ownerReferences: [controllerRef(owner)] },
    });
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "owner" });
    await waitFor(
      async () => (await kube.getOrUndefined({ apiVersion: "v1", kind: "Secret", namespace: ns, name: "child" })) === undefined,
      {
        timeoutMs: 60_000,
        message: "child garbage-collected",
      },
    );
  });

  it("kwok drives a pod that tolerates the fake node to Running/Ready", async () => {
    expect(clusterInfo().fakeNode).not.toBe("");
    await kube.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "on-kwok", namespace: ns },
      spec: { tolerations: [FAKE_NODE_TOLERATION], containers: [{ name: "c", image: "busybox" }] },
    });
    const pod = await waitFor(
      async () => {
        const p = await kube.get<Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "on-kwok" });
        return podReady(p) ? p : undefined;
      },
      { timeoutMs: 60_000, message: "pod Ready via kwok" },
    );
    expect(pod.spec?.nodeName).toBe(clusterInfo().fakeNode);
    expect(pod.status?.phase).toBe("Running");
    expect(pod.status?.podIP).toBeTruthy();
  });

  it("markPodReady sets a pod without a node Running and Ready through /status", async () => {
    await kube.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "manual", namespace: ns },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    await markPodReady(kube.kc, ns, "manual", { podIP: "10.88.0.7" });
    const p = await kube.get<Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "manual" });
    expect(podReady(p)).toBe(true);
    expect(p.status?.phase).toBe("Running");
    expect(p.status?.podIP).toBe("10.88.0.7");
    await expect(markPodReady(kube.kc, ns, "absent")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("removes namespaces (namespace controller)", async () => {
    const tmp = await freshNamespace("harness-ns-gc");
    await kube.delete({ apiVersion: "v1", kind: "Namespace", name: tmp });
    await waitFor(async () => (await kube.getOrUndefined({ apiVersion: "v1", kind: "Namespace", name: tmp })) === undefined, {
      timeoutMs: 60_000,
    });
  });
});
