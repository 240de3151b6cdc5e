import { describe, expect, it } from "vitest";
import { blueprintHash, sandboxFromTemplate } from "../../../../src/controllers/shared/sandbox-from-template.js";
import { nameHash } from "../../../../src/controllers/shared/name-hash.js";
import { SandboxSchema, type SandboxBlueprint } from "../../../../src/api/index.js";
import { makeTemplate, poolOwner } from "../fixtures.js";

/** The same object with every map's keys in reverse order. */
function reverseKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reverseKeys) as T;
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .reverse()
        .map(([k, x]) => [k, reverseKeys(x)]),
    ) as T;
  }
  return v;
}

describe("blueprintHash", () => {
  it("is a 16-hex-digit digest", () => {
    expect(blueprintHash(makeTemplate())).toMatch(/^[0-9a-f]{16}$/);
  });

  it("is stable under key order", () => {
    const t = makeTemplate({ service: true });
    const reordered = reverseKeys(t);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(t));
    expect(blueprintHash(reordered)).toBe(blueprintHash(t));
  });

  it("is the same for equal blueprints built separately", () => {
    expect(blueprintHash(makeTemplate())).toBe(blueprintHash(makeTemplate()));
  });

  it("ignores what is not part of the blueprint (name, policies, network rules)", () => {
    const a = makeTemplate({}, "a");
    const b = makeTemplate(
      { envVarsInjectionPolicy: "Overrides", networkPolicyManagement: "Unmanaged", networkPolicy: { egress: [] } },
      "b",
    );
    expect(blueprintHash(b)).toBe(blueprintHash(a));
  });

  it("differs when the pod template, the volume claim templates or service differ", () => {
    const base = blueprintHash(makeTemplate());
    const image = makeTemplate();
    const c = image.spec.podTemplate.spec.containers[0];
    if (!c) throw new Error("no container");
    c.image = "python:3.12";
    const vct = makeTemplate({ volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }] });
    const service = makeTemplate({ service: true });
    const hashes = [base, blueprintHash(image), blueprintHash(vct), blueprintHash(service)];
    expect(new Set(hashes).size).toBe(4);
  });

  it("differs when list order differs (container order is meaningful)", () => {
    const t = makeTemplate();
    const swapped = structuredClone(t);
    swapped.spec.podTemplate.spec.containers.reverse();
    expect(blueprintHash(swapped)).not.toBe(blueprintHash(t));
  });
});

describe("sandboxFromTemplate", () => {
  it("builds a Sandbox with the template's blueprint, labels, template annotation and owner", () => {
    const template = makeTemplate({ service: true });
    const sb = sandboxFromTemplate({
      name: "pool-abc",
      namespace: "ns",
      template,
      owner: poolOwner,
      labels: { "agents.x-k8s.io/warm-pool-sandbox": "h" },
    });
    expect(sb.apiVersion).toBe("agents.x-k8s.io/v1beta1");
    expect(sb.kind).toBe("Sandbox");
    expect(sb.metadata).toEqual({
      name: "pool-abc",
      namespace: "ns",
      labels: {
        "agents.x-k8s.io/warm-pool-sandbox": "h",
        "agents.x-k8s.io/sandbox-template-ref-hash": nameHash("tmpl"),
        "agents.x-k8s.io/sandbox-template-hash": blueprintHash(template),
      },
      annotations: { "agents.x-k8s.io/sandbox-template-ref": "tmpl" },
      ownerReferences: [poolOwner],
    });
    expect(sb.spec.podTemplate).toEqual(template.spec.podTemplate);
    expect(sb.spec.service).toBe(true);
    expect(sb.spec.volumeClaimTemplates).toBeUndefined();
    // The result is a valid Sandbox as the API would accept it.
    expect(() => SandboxSchema.parse(sb)).not.toThrow();
  });

  it("marks the network policy Unmanaged when the template says so, and only then", () => {
    const unmanaged = sandboxFromTemplate({
      name: "s",
      namespace: "ns",
      template: makeTemplate({ networkPolicyManagement: "Unmanaged" }),
      owner: poolOwner,
      labels: {},
    });
    expect(unmanaged.metadata.annotations).toEqual({
      "agents.x-k8s.io/sandbox-template-ref": "tmpl",
      "agents.x-k8s.io/network-policy": "Unmanaged",
    });
    const managed = sandboxFromTemplate({
      name: "s",
      namespace: "ns",
      template: makeTemplate({ networkPolicyManagement: "Managed" }),
      owner: poolOwner,
      labels: {},
    });
    expect(managed.metadata.annotations).not.toHaveProperty("agents.x-k8s.io/network-policy");
  });

  it("does not let caller labels override the template hash labels", () => {
    const template = makeTemplate();
    const sb = sandboxFromTemplate({
      name: "s",
      namespace: "ns",
      template,
      owner: poolOwner,
      labels: { "agents.x-k8s.io/sandbox-template-hash": "forged", "agents.x-k8s.io/sandbox-template-ref-hash": "forged" },
    });
    expect(sb.metadata.labels?.["agents.x-k8s.io/sandbox-template-hash"]).toBe(blueprintHash(template));
    expect(sb.metadata.labels?.["agents.x-k8s.io/sandbox-template-ref-hash"]).toBe(nameHash("tmpl"));
  });

  it("uses an override blueprint when given, copying it", () => {
    const template = makeTemplate();
    const blueprint: SandboxBlueprint = {
      podTemplate: { spec: { containers: [{ name: "other", image: "node:22" }] } },
      volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }],
      service: false,
    };
    const sb = sandboxFromTemplate({ name: "c", namespace: "ns", template, owner: poolOwner, labels: {}, blueprint });
    expect(sb.spec.podTemplate).toEqual(blueprint.podTemplate);
    expect(sb.spec.podTemplate).not.toBe(blueprint.podTemplate);
    expect(sb.spec.volumeClaimTemplates).toEqual(blueprint.volumeClaimTemplates);
    expect(sb.spec.volumeClaimTemplates).not.toBe(blueprint.volumeClaimTemplates);
    expect(sb.spec.service).toBe(false);
    // The hash label still names the template's blueprint, not the override.
    expect(sb.metadata.labels?.["agents.x-k8s.io/sandbox-template-hash"]).toBe(blueprintHash(template));
  });

  it("does not share the template's pod template with the Sandbox", () => {
    const template = makeTemplate();
    const before = structuredClone(template);
    const sb = sandboxFromTemplate({ name: "s", namespace: "ns", template, owner: poolOwner, labels: {} });
    sb.spec.podTemplate.spec.containers.push({ name: "x", image: "y" });
    expect(template).toEqual(before);
  });
});
