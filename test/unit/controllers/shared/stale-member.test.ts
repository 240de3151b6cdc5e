import { describe, expect, it } from "vitest";
import { SandboxSchema, type SandboxTemplate } from "../../../../src/api/index.js";
import type { Named } from "../../../../src/controllers/shared/named.js";
import { sandboxFromTemplate } from "../../../../src/controllers/shared/sandbox-from-template.js";
import { staleMemberCheck, type MemberBlueprint } from "../../../../src/controllers/shared/stale-member.js";
import { makeTemplate, poolOwner } from "../fixtures.js";

/** A pool member as the pool builds it from `template` and the cache shows it. */
function memberOf(template: Named<SandboxTemplate>, name = "pool-abcde"): MemberBlueprint {
  return SandboxSchema.parse(
    sandboxFromTemplate({ name, namespace: "ns", template, owner: poolOwner, labels: { "agents.x-k8s.io/warm-pool-sandbox": "h" } }),
  );
}

/** A copy of the template changed by `edit`. */
function edited(template: Named<SandboxTemplate>, edit: (t: Named<SandboxTemplate>) => void): Named<SandboxTemplate> {
  const copy = structuredClone(template);
  edit(copy);
  return copy;
}

function firstContainer(t: Named<SandboxTemplate>) {
  const c = t.spec.podTemplate.spec.containers[0];
  if (!c) throw new Error("no container");
  return c;
}

describe("staleMemberCheck", () => {
  it("keeps a member built from the template as it is", () => {
    const t = makeTemplate();
    expect(staleMemberCheck(t)(memberOf(t))).toBe(false);
  });

  it("replaces a member of another template even when the two blueprints are identical", () => {
    const a = makeTemplate({}, "template-a");
    const b = makeTemplate({}, "template-b");
    expect(staleMemberCheck(b)(memberOf(a))).toBe(true);
  });

  it("replaces a member without a template-ref hash label", () => {
    const t = makeTemplate();
    const m = memberOf(t);
    delete m.metadata.labels?.["agents.x-k8s.io/sandbox-template-ref-hash"];
    expect(staleMemberCheck(t)(m)).toBe(true);
  });

  it("replaces a member when the pod spec changed", () => {
    const t = makeTemplate();
    const next = edited(t, (x) => firstContainer(x).env?.push({ name: "TEST_ENV", value: "updated" }));
    expect(staleMemberCheck(next)(memberOf(t))).toBe(true);
  });

  it("keeps a member when only the pod template's labels or annotations changed", () => {
    const t = makeTemplate();
    const labels = edited(t, (x) => {
      x.spec.podTemplate.metadata = { labels: { app: "agent", "new-label": "new-value" } };
    });
    const annotations = edited(t, (x) => {
      x.spec.podTemplate.metadata = { labels: { app: "agent" }, annotations: { note: "x" } };
    });
    expect(staleMemberCheck(labels)(memberOf(t))).toBe(false);
    expect(staleMemberCheck(annotations)(memberOf(t))).toBe(false);
  });

  it("compares volume claim templates by name and spec, not by their metadata's labels", () => {
    const t = makeTemplate({ volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }] });
    const relabelled = edited(t, (x) => {
      const v = x.spec.volumeClaimTemplates?.[0];
      if (v) v.metadata = { name: "data", labels: { tier: "fast" } };
    });
    const renamed = edited(t, (x) => {
      const v = x.spec.volumeClaimTemplates?.[0];
      if (v) v.metadata = { name: "scratch" };
    });
    const resized = edited(t, (x) => {
      const v = x.spec.volumeClaimTemplates?.[0];
      if (v) v.spec = { accessModes: ["ReadWriteMany"] };
    });
    const added = edited(t, (x) => x.spec.volumeClaimTemplates?.push({ metadata: { name: "more" }, spec: {} }));
    expect(staleMemberCheck(relabelled)(memberOf(t))).toBe(false);
    expect(staleMemberCheck(renamed)(memberOf(t))).toBe(true);
    expect(staleMemberCheck(resized)(memberOf(t))).toBe(true);
    expect(staleMemberCheck(added)(memberOf(t))).toBe(true);
  });

  it("replaces a member when the service flag changed, unset and false included", () => {
    const t = makeTemplate();
    expect(staleMemberCheck(makeTemplate({ service: true }))(memberOf(t))).toBe(true);
    expect(staleMemberCheck(makeTemplate({ service: false }))(memberOf(t))).toBe(true);
  });

  it("ignores key order and empty values spelled differently", () => {
    const t = makeTemplate();
    const m = memberOf(t);
    m.metadata.labels = { ...m.metadata.labels, "agents.x-k8s.io/sandbox-template-hash": "older" };
    const spec = m.spec.podTemplate.spec;
    m.spec.podTemplate.spec = {
      ...Object.fromEntries(Object.entries(spec).reverse()),
      containers: spec.containers,
      volumes: [],
      nodeSelector: {},
    } as typeof spec;
    expect(staleMemberCheck(t)(m)).toBe(false);
  });

  it("judges a member without a blueprint hash label by its spec", () => {
    const t = makeTemplate();
    const m = memberOf(t);
    delete m.metadata.labels?.["agents.x-k8s.io/sandbox-template-hash"];
    expect(staleMemberCheck(t)(m)).toBe(false);
    const next = edited(t, (x) => {
      firstContainer(x).image = "python:3.12";
    });
    expect(staleMemberCheck(next)(m)).toBe(true);
  });

  it("judges each old hash once per check, as upstream does", () => {
    const t = makeTemplate();
    const next = edited(t, (x) => {
      x.spec.podTemplate.metadata = { labels: { app: "agent", v: "2" } };
    });
    const isStale = staleMemberCheck(next);
    const first = memberOf(t, "pool-aaaaa");
    expect(isStale(first)).toBe(false);
    // A second member with the same old hash whose spec was edited by hand is taken at its hash's word.
    const second = memberOf(t, "pool-bbbbb");
    const c = second.spec.podTemplate.spec.containers[0];
    if (c) c.image = "edited:1";
    expect(isStale(second)).toBe(false);
    expect(staleMemberCheck(next)(second)).toBe(true);
  });
});
