// A Sandbox the API server admits but whose Pod it refuses (pod-spec ranges and syntax are
// checked only when the Pod is written): the Sandbox must say why, naming the field, rather
// than retry in silence. Found while extending the invalid-manifest corpus (crds.test.ts).
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { freshNamespace, testKube, waitFor, FAKE_NODE_TOLERATION } from "../harness/cluster.js";
import { startOperator, type RunningOperator } from "./operator-fixture.js";

let kube: Kube;
let operator: RunningOperator;
beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
});
afterAll(async () => {
  await operator?.stop();
});

type Obj = KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } };

describe("a pod the API server refuses", () => {
  it("shows on the Sandbox's Ready condition and a Warning event, naming the field", async () => {
    const ns = await freshNamespace("refused-pod");
    await kube.create({
      apiVersion: "agents.x-k8s.io/v1beta1",
      kind: "Sandbox",
      metadata: { name: "bad-port", namespace: ns },
      spec: {
        podTemplate: {
          spec: {
            tolerations: [{ ...FAKE_NODE_TOLERATION }],
            containers: [{ name: "main", image: "agent-sandbox/runtime:test", ports: [{ containerPort: 70000 }] }],
          },
        },
      },
    } as KubernetesObject);
    const sandbox = await waitFor(
      async () => {
        const s = await kube.get<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name: "bad-port" });
        const ready = s.status?.conditions?.find((c) => c.type === "Ready");
        return ready?.reason === "ReconcilerError" ? ready : undefined;
      },
      { message: "Ready=False ReconcilerError on the Sandbox", timeoutMs: 20_000 },
    );
    expect(sandbox.status).toBe("False");
    expect(sandbox.message).toMatch(/containerPort/);
    expect(sandbox.message).toMatch(/^Error seen: the API server refused the Pod/);
    const events = await waitFor(
      async () => {
        const list = await kube.list<KubernetesObject & { reason?: string; type?: string; note?: string; regarding?: { name?: string } }>(
          { apiVersion: "events.k8s.io/v1", kind: "Event" },
          { namespace: ns },
        );
        const found = list.items.filter((e) => e.regarding?.name === "bad-port" && e.type === "Warning" && e.reason === "ReconcilerError");
        return found.length ? found : undefined;
      },
      { message: "Warning event" },
    );
    expect(events[0]?.note).toMatch(/containerPort/);
  });

  it("a name too long for its Service (service: true) shows on Ready, while the pod still runs", async () => {
    const ns = await freshNamespace("refused-svc");
    // Valid for a Sandbox and a Pod (DNS subdomain, 253), too long for a Service (DNS label, 63).
    const name = `long-${"x".repeat(64)}`;
    await kube.create({
      apiVersion: "agents.x-k8s.io/v1beta1",
      kind: "Sandbox",
      metadata: { name, namespace: ns },
      spec: {
        service: true,
        podTemplate: {
          spec: { tolerations: [{ ...FAKE_NODE_TOLERATION }], containers: [{ name: "main", image: "agent-sandbox/runtime:test" }] },
        },
      },
    } as KubernetesObject);
    const ready = await waitFor(
      async () => {
        const s = await kube.get<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name });
        const c = s.status?.conditions?.find((x) => x.type === "Ready");
        return c?.reason === "ReconcilerError" ? c : undefined;
      },
      { message: "Ready=False ReconcilerError on the long-named Sandbox", timeoutMs: 20_000 },
    );
    expect(ready.status).toBe("False");
    expect(ready.message).toMatch(/^Error seen: the API server refused the Service/);
    expect(ready.message).toMatch(/63/);
    // The pod was created all the same; only the Service is missing.
    const pod = await kube.getOrUndefined({ apiVersion: "v1", kind: "Pod", namespace: ns, name });
    expect(pod).toBeDefined();
  });
});
