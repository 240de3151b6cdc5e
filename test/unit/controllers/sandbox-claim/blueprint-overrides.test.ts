import type { V1Container } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { SandboxBlueprint, SandboxClaimInput } from "../../../../src/api/index.js";
import { blueprintForClaim, forcesColdStart } from "../../../../src/controllers/sandbox-claim/blueprint-overrides.js";
import { makeClaim, makeTemplate } from "../fixtures.js";

function ok(r: ReturnType<typeof blueprintForClaim>): SandboxBlueprint {
  if (!r.ok) throw new Error(`refused: ${r.reason}: ${r.message}`);
  return r.blueprint;
}

function containerOf(b: SandboxBlueprint, name: string): V1Container {
  const c = (b.podTemplate.spec.containers as V1Container[]).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

const env = (vars: NonNullable<SandboxClaimInput["spec"]["env"]>) => makeClaim({ env: vars });
const data = { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } };
const bigData = { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "9Gi" } } } };
const logs = { metadata: { name: "logs" }, spec: { accessModes: ["ReadWriteOnce"] } };

describe("blueprintForClaim: no overrides", () => {
  it("returns a copy of the template's blueprint", () => {
    const t = makeTemplate({ service: true, volumeClaimTemplates: [data] });
    const b = ok(blueprintForClaim(makeClaim(), t));
    expect(b).toEqual({ podTemplate: t.spec.podTemplate, volumeClaimTemplates: t.spec.volumeClaimTemplates, service: true });
    expect(b.podTemplate).not.toBe(t.spec.podTemplate);
  });
});

describe("blueprintForClaim: env", () => {
  it("refuses env when the policy is Disallowed (the default), naming spec.env and the template", () => {
    const r = blueprintForClaim(env([{ name: "A", value: "1" }]), makeTemplate());
    expect(r).toEqual({
      ok: false,
      reason: "EnvVarsInjectionRejected",
      message: "environment variable injection rejected: spec.env is set but SandboxTemplate tmpl has envVarsInjectionPolicy Disallowed",
    });
  });

  it("accepts an empty env list under Disallowed", () => {
    expect(blueprintForClaim(env([]), makeTemplate()).ok).toBe(true);
  });

  it("with Allowed, adds new variables to the first container", () => {
    const b = ok(blueprintForClaim(env([{ name: "A", value: "1" }]), makeTemplate({ envVarsInjectionPolicy: "Allowed" })));
    expect(containerOf(b, "main").env).toEqual([
      { name: "MODE", value: "template" },
      { name: "A", value: "1" },
    ]);
    expect(containerOf(b, "helper").env).toBeUndefined();
  });

  it("with Allowed, refuses to override a template variable, naming the entry", () => {
    const r = blueprintForClaim(
      env([
        { name: "A", value: "1" },
        { name: "MODE", value: "claim" },
      ]),
      makeTemplate({ envVarsInjectionPolicy: "Allowed" }),
    );
    expect(r).toEqual({
      ok: false,
      reason: "EnvVarsInjectionRejected",
      message:
        'environment variable injection rejected: spec.env[1].name: "MODE" is defined by the template; overriding it needs envVarsInjectionPolicy Overrides',
    });
  });

  it("with Overrides, replaces a template variable in place and adds the others", () => {
    const b = ok(
      blueprintForClaim(
        env([
          { name: "MODE", value: "claim" },
          { name: "B", value: "2" },
        ]),
        makeTemplate({ envVarsInjectionPolicy: "Overrides" }),
      ),
    );
    expect(containerOf(b, "main").env).toEqual([
      { name: "MODE", value: "claim" },
      { name: "B", value: "2" },
    ]);
  });

  it("targets the container named by containerName", () => {
    const b = ok(
      blueprintForClaim(env([{ name: "A", value: "1", containerName: "helper" }]), makeTemplate({ envVarsInjectionPolicy: "Allowed" })),
    );
    expect(containerOf(b, "helper").env).toEqual([{ name: "A", value: "1" }]);
    expect(containerOf(b, "main").env).toEqual([{ name: "MODE", value: "template" }]);
  });

  it("checks for a clash in the targeted container only", () => {
    const b = ok(
      blueprintForClaim(env([{ name: "MODE", value: "x", containerName: "helper" }]), makeTemplate({ envVarsInjectionPolicy: "Allowed" })),
    );
    expect(containerOf(b, "helper").env).toEqual([{ name: "MODE", value: "x" }]);
  });

  it("refuses an unknown container, naming the entry and the container", () => {
    const r = blueprintForClaim(
      env([
        { name: "A", value: "1" },
        { name: "B", value: "2", containerName: "nope" },
      ]),
      makeTemplate({ envVarsInjectionPolicy: "Overrides" }),
    );
    expect(r).toEqual({
      ok: false,
      reason: "EnvVarsInjectionRejected",
      message: 'environment variable injection rejected: spec.env[1].containerName: no container named "nope" in the template',
    });
  });
});

describe("blueprintForClaim: volume claim templates", () => {
  it("refuses them when the policy is Disallowed (the default)", () => {
    const r = blueprintForClaim(makeClaim({ volumeClaimTemplates: [logs] }), makeTemplate());
    expect(r).toEqual({
      ok: false,
      reason: "VolumeClaimTemplatesError",
      message: "failed to merge volume claim templates: volume claim templates are disallowed by the template",
    });
  });

  it("with Allowed, appends new ones", () => {
    const b = ok(
      blueprintForClaim(
        makeClaim({ volumeClaimTemplates: [logs] }),
        makeTemplate({ volumeClaimTemplatesPolicy: "Allowed", volumeClaimTemplates: [data] }),
      ),
    );
    expect(b.volumeClaimTemplates?.map((v) => v.metadata?.name)).toEqual(["data", "logs"]);
  });

  it("with Allowed, adds them to a template that has none", () => {
    const b = ok(blueprintForClaim(makeClaim({ volumeClaimTemplates: [logs] }), makeTemplate({ volumeClaimTemplatesPolicy: "Allowed" })));
    expect(b.volumeClaimTemplates?.map((v) => v.metadata?.name)).toEqual(["logs"]);
  });

  it("with Allowed, refuses to redefine one of the template's, naming it as upstream does", () => {
    const r = blueprintForClaim(
      makeClaim({ volumeClaimTemplates: [logs, bigData] }),
      makeTemplate({ volumeClaimTemplatesPolicy: "Allowed", volumeClaimTemplates: [data] }),
    );
    expect(r).toEqual({
      ok: false,
      reason: "VolumeClaimTemplatesError",
      message:
        'failed to merge volume claim templates: overriding volume claim templates is forbidden by the template: cannot override template volume "data"',
    });
  });

  it("refuses an entry without a name, under any policy (a PVC is named after it)", () => {
    const unnamed = { metadata: {}, spec: { accessModes: ["ReadWriteOnce"] } };
    for (const volumeClaimTemplatesPolicy of ["Allowed", "Overrides", "Disallowed"] as const) {
      expect(blueprintForClaim(makeClaim({ volumeClaimTemplates: [logs, unnamed] }), makeTemplate({ volumeClaimTemplatesPolicy }))).toEqual(
        {
          ok: false,
          reason: "VolumeClaimTemplatesError",
          message: "failed to merge volume claim templates: claim: invalid volume claim templates: name at index 1 is empty",
        },
      );
    }
  });

  it("refuses a name used twice in the claim", () => {
    expect(
      blueprintForClaim(makeClaim({ volumeClaimTemplates: [logs, logs] }), makeTemplate({ volumeClaimTemplatesPolicy: "Overrides" })),
    ).toEqual({
      ok: false,
      reason: "VolumeClaimTemplatesError",
      message: 'failed to merge volume claim templates: claim: invalid volume claim templates: duplicate name "logs"',
    });
  });

  it("checks them before env and pod metadata, as upstream does", () => {
    const claim = makeClaim({ volumeClaimTemplates: [logs], env: [{ name: "A", value: "1" }] });
    expect(blueprintForClaim(claim, makeTemplate())).toMatchObject({ ok: false, reason: "VolumeClaimTemplatesError" });
  });

  it("leaves the template's own list unchecked when the claim brings none (a warm adoption does not use it)", () => {
    expect(blueprintForClaim(makeClaim(), makeTemplate({ volumeClaimTemplates: [data, data] })).ok).toBe(true);
  });

  it("with Overrides, replaces the template's in place", () => {
    const b = ok(
      blueprintForClaim(
        makeClaim({ volumeClaimTemplates: [bigData] }),
        makeTemplate({ volumeClaimTemplatesPolicy: "Overrides", volumeClaimTemplates: [data, logs] }),
      ),
    );
    expect(b.volumeClaimTemplates?.map((v) => [v.metadata?.name, v.spec.resources?.requests?.["storage"]])).toEqual([
      ["data", "9Gi"],
      ["logs", undefined],
    ]);
  });
});

describe("blueprintForClaim: additionalPodMetadata", () => {
  it("merges labels and annotations into the pod template", () => {
    const t = makeTemplate();
    t.spec.podTemplate.metadata = { labels: { app: "agent" }, annotations: { a: "1" } };
    const b = ok(
      blueprintForClaim(makeClaim({ additionalPodMetadata: { labels: { "sandbox.users.io/user": "u1" }, annotations: { b: "2" } } }), t),
    );
    expect(b.podTemplate.metadata).toEqual({ labels: { app: "agent", "sandbox.users.io/user": "u1" }, annotations: { a: "1", b: "2" } });
  });

  it("works on a template without pod metadata", () => {
    const t = makeTemplate();
    delete t.spec.podTemplate.metadata;
    const b = ok(blueprintForClaim(makeClaim({ additionalPodMetadata: { annotations: { b: "2" } } }), t));
    expect(b.podTemplate.metadata?.annotations).toEqual({ b: "2" });
  });

  it("accepts a label the template sets to the same value", () => {
    const b = ok(blueprintForClaim(makeClaim({ additionalPodMetadata: { labels: { app: "agent" } } }), makeTemplate()));
    expect(b.podTemplate.metadata?.labels).toEqual({ app: "agent" });
  });

  it("refuses a label the template sets to another value, naming the key and the template's value", () => {
    const r = blueprintForClaim(makeClaim({ additionalPodMetadata: { labels: { app: "evil" } } }), makeTemplate());
    expect(r).toEqual({
      ok: false,
      reason: "InvalidMetadata",
      message: 'invalid additionalPodMetadata: spec.additionalPodMetadata.labels["app"]: the template sets it to "agent"',
    });
  });
});

describe("blueprintForClaim: purity", () => {
  it("never modifies the template, whether it accepts or refuses", () => {
    const t = makeTemplate({ envVarsInjectionPolicy: "Overrides", volumeClaimTemplatesPolicy: "Overrides", volumeClaimTemplates: [data] });
    const before = structuredClone(t);
    ok(
      blueprintForClaim(
        makeClaim({
          env: [
            { name: "MODE", value: "claim" },
            { name: "X", value: "y", containerName: "helper" },
          ],
          volumeClaimTemplates: [bigData, logs],
          additionalPodMetadata: { labels: { extra: "1" }, annotations: { b: "2" } },
        }),
        t,
      ),
    );
    blueprintForClaim(makeClaim({ env: [{ name: "A", value: "1" }], additionalPodMetadata: { labels: { app: "evil" } } }), t);
    expect(t).toEqual(before);
  });
});

describe("forcesColdStart", () => {
  it("is true for claims that set env or volume claim templates", () => {
    expect(forcesColdStart(makeClaim({ env: [{ name: "A", value: "1" }] }))).toBe(true);
    expect(forcesColdStart(makeClaim({ volumeClaimTemplates: [logs] }))).toBe(true);
  });

  it("is false for plain claims, empty lists and pod metadata alone", () => {
    expect(forcesColdStart(makeClaim())).toBe(false);
    expect(forcesColdStart(makeClaim({ env: [], volumeClaimTemplates: [] }))).toBe(false);
    expect(forcesColdStart(makeClaim({ additionalPodMetadata: { labels: { "sandbox.users.io/x": "1" } } }))).toBe(false);
  });
});
