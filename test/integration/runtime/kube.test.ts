import type { KubernetesObject } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  ApiError,
  BadRequestError,
  ConflictError,
  InvalidError,
  NotFoundError,
  ignoreNotFound,
} from "../../../src/runtime/errors.js";
import { FIELD_MANAGER, Kube } from "../../../src/runtime/kube.js";
import { freshNamespace, testKube, waitFor } from "../harness/cluster.js";

const kube = testKube();

interface ManagedObject extends KubernetesObject {
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const WIDGET_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.runtime-test.agent-sandbox.dev" },
  spec: {
    group: "runtime-test.agent-sandbox.dev",
    names: { kind: "Widget", plural: "widgets", singular: "widget", listKind: "WidgetList" },
    scope: "Namespaced",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", properties: { size: { type: "integer", minimum: 1 } } },
              status: {
                type: "object",
                properties: {
                  phase: { type: "string" },
                  conditions: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    items: {
                      type: "object",
                      required: ["type", "status"],
                      properties: { type: { type: "string" }, status: { type: "string" }, reason: { type: "string" } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

describe("Kube adapter against a real API server", () => {
  let ns = "";
  beforeAll(async () => {
    ns = await freshNamespace("kube");
  });

  it("server-side applies with one field manager and re-applies idempotently", async () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa", namespace: ns }, data: { a: "1" } };
    const first = await kube.apply<ManagedObject>(cm);
    expect(first.data).toEqual({ a: "1" });
    const managers = first.metadata?.managedFields?.map((f) => `${f.manager}/${f.operation}`);
    expect(managers).toEqual([`${FIELD_MANAGER}/Apply`]);
    const again = await kube.apply<ManagedObject>(cm);
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    // Dropping a field from the intent removes it (we own it).
    const updated = await kube.apply<ManagedObject>({ ...cm, data: { b: "2" } });
    expect(updated.data).toEqual({ b: "2" });
  });

  it("force-applies over a field another manager owns", async () => {
    await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "contested", namespace: ns }, data: { k: "theirs" } });
    const res = await kube.apply<ManagedObject>({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "contested", namespace: ns },
      data: { k: "ours" },
    });
    expect(res.data?.["k"]).toBe("ours");
  });

  it("rejects unknown fields (fieldValidation=Strict) with an error naming the field", async () => {
    const err = await kube
      .apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "strict", namespace: ns },
        data: { a: "1" },
        bogusField: true,
      } as KubernetesObject)
      .catch((e: unknown) => e);
    // For apply, kube-apiserver 1.32 reports this as a 500 "field not declared in schema" naming it.
    expect(err).toBeInstanceOf(ApiError);
    expect(String((err as Error).message)).toMatch(/bogusField/);
    // For create/update, strict decoding fails with 400 BadRequest naming the field.
    const created = await kube
      .create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "strict-create", namespace: ns },
        bogusField: true,
      } as KubernetesObject)
      .catch((e: unknown) => e);
    expect(created).toBeInstanceOf(BadRequestError);
    expect(String((created as Error).message)).toMatch(/unknown field "bogusField"/);
  });

  it("maps API errors to typed errors with the Status causes", async () => {
    await expect(kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "missing" })).rejects.toBeInstanceOf(NotFoundError);
    expect(await ignoreNotFound(kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "missing" }))).toBeUndefined();
    expect(await kube.getOrUndefined({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "missing" })).toBeUndefined();

    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dup", namespace: ns } };
    await kube.create(cm);
    await expect(kube.create(cm)).rejects.toBeInstanceOf(AlreadyExistsError);

    const invalid = await kube
      .create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "Not_A_Valid_Name", namespace: ns } })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InvalidError);
    expect((invalid as InvalidError).causes.map((c) => c.field)).toContain("metadata.name");
    expect((invalid as InvalidError).fieldMessage()).toMatch(/metadata\.name/);
  });

  it("deletes with uid and resourceVersion preconditions", async () => {
    const created = await kube.create<ManagedObject>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "precond", namespace: ns } });
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "precond" };
    await expect(kube.delete(ref, { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(kube.delete(ref, { preconditions: { resourceVersion: "1" } })).rejects.toBeInstanceOf(ConflictError);
    await kube.delete(ref, {
      preconditions: { uid: created.metadata?.uid, resourceVersion: created.metadata?.resourceVersion },
      propagationPolicy: "Background",
    });
    await expect(kube.get(ref)).rejects.toBeInstanceOf(NotFoundError);
    await expect(kube.delete(ref)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("honours the caller's abort signal and its own request timeout", async () => {
    const ctl = new AbortController();
    ctl.abort(new Error("caller gave up"));
    await expect(kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "ssa" }, { signal: ctl.signal })).rejects.toThrow(
      /caller gave up/,
    );
    // A watch on a quiet collection never completes on its own: the request timeout must end it.
    const impatient = new Kube(kube.kc, { requestTimeoutMs: 300 });
    await expect(
      impatient.request("GET", `/api/v1/namespaces/${ns}/podtemplates`, { query: { watch: "true", timeoutSeconds: 30 } }),
    ).rejects.toThrow(/timed out/);
  });

  it("lists with a label selector", async () => {
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "l1", namespace: ns, labels: { pick: "yes" } } });
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "l2", namespace: ns, labels: { pick: "no" } } });
    const list = await kube.list({ apiVersion: "v1", kind: "ConfigMap" }, { namespace: ns, labelSelector: "pick=yes" });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["l1"]);
  });

  it("applies a custom resource and its /status subresource with the same field manager", async () => {
    await kube.apply(WIDGET_CRD);
    await waitFor(
      async () => {
        const crd = await kube.get<KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>({
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          name: WIDGET_CRD.metadata.name,
        });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { message: "Widget CRD Established" },
    );
    const gvk = { apiVersion: "runtime-test.agent-sandbox.dev/v1", kind: "Widget" };
    // Discovery may lag the Established condition briefly.
    const w = await waitFor(() => kube.apply<ManagedObject>({ ...gvk, metadata: { name: "w1", namespace: ns }, spec: { size: 2 } }));
    expect(w.spec).toEqual({ size: 2 });
    // Status sent to the main resource is ignored by the API server...
    const viaMain = await kube.apply<ManagedObject>({
      ...gvk,
      metadata: { name: "w1", namespace: ns },
      spec: { size: 2 },
      status: { phase: "Ignored" },
    });
    expect(viaMain.status).toBeUndefined();
    // ...and lands through /status.
    const st = await kube.applyStatus<ManagedObject>({
      ...gvk,
      metadata: { name: "w1", namespace: ns },
      status: { phase: "Ready", conditions: [{ type: "Ready", status: "True", reason: "Done" }] },
    });
    expect(st.status?.["phase"]).toBe("Ready");
    expect(st.spec).toEqual({ size: 2 });
    const entries = st.metadata?.managedFields?.map((f) => `${f.manager}/${f.operation}/${f.subresource ?? ""}`) ?? [];
    expect(entries).toContain(`${FIELD_MANAGER}/Apply/status`);
    expect(entries).toContain(`${FIELD_MANAGER}/Apply/`);
    // Schema validation errors carry the field path.
    const bad = await kube.apply({ ...gvk, metadata: { name: "w2", namespace: ns }, spec: { size: 0 } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidError);
    expect((bad as InvalidError).causes.map((c) => c.field)).toContain("spec.size");
  });
});
