import { describe, expect, it, vi } from "vitest";
import { LabelKeys, SandboxSchema, type SandboxTemplate } from "../../../../src/api/index.js";
import { adoptableMemberCheck, updateStrategyOf } from "../../../../src/controllers/shared/adoptable-member.js";
import type { Named } from "../../../../src/controllers/shared/named.js";
import { sandboxFromTemplate } from "../../../../src/controllers/shared/sandbox-from-template.js";
import { staleMemberCheck, type MemberBlueprint } from "../../../../src/controllers/shared/stale-member.js";
import { makeTemplate, poolOwner } from "../fixtures.js";

function memberOf(template: Named<SandboxTemplate>): MemberBlueprint {
  return SandboxSchema.parse(
    sandboxFromTemplate({ name: "pool-abcde", namespace: "ns", template, owner: poolOwner, labels: { [LabelKeys.WarmPoolSandbox]: "h" } }),
  );
}

/** The template as it was (members built from it), and three ways it may have changed since. */
function scenarios() {
  const before = makeTemplate({
    podTemplate: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "main", image: "python:3" }] } },
  });
  const labelOnly = structuredClone(before);
  labelOnly.spec.podTemplate.metadata = { labels: { app: "agent", "new-label": "new-value" } };
  const specChange = structuredClone(before);
  specChange.spec.podTemplate.spec.containers = [{ name: "main", image: "python:3", env: [{ name: "TEST_ENV", value: "updated" }] }];
  const otherTemplate = structuredClone(before);
  otherTemplate.metadata.name = "other";
  return { member: memberOf(before), before, labelOnly, specChange, otherTemplate };
}

const adoptable = (strategy: "Recreate" | "OnReplenish", template: Named<SandboxTemplate>, member: MemberBlueprint) =>
  adoptableMemberCheck(strategy, staleMemberCheck(template))(member);

describe("updateStrategyOf", () => {
  it("is OnReplenish when the pool names no strategy, as upstream defaults it", () => {
    expect(updateStrategyOf({ spec: { replicas: 1, sandboxTemplateRef: { name: "t" } } })).toBe("OnReplenish");
    expect(updateStrategyOf({ spec: { replicas: 1, sandboxTemplateRef: { name: "t" }, updateStrategy: { type: "Recreate" } } })).toBe(
      "Recreate",
    );
  });
});

describe("adoptableMemberCheck", () => {
  it("Recreate: takes a member of the current template and one the pool keeps after a label-only change", () => {
    const { member, before, labelOnly } = scenarios();
    expect(adoptable("Recreate", before, member)).toBe(true);
    expect(adoptable("Recreate", labelOnly, member)).toBe(true);
  });

  it("Recreate: refuses a member the pool replaces (spec changed, or the pool points at another template)", () => {
    const { member, specChange, otherTemplate } = scenarios();
    expect(adoptable("Recreate", specChange, member)).toBe(false);
    expect(adoptable("Recreate", otherTemplate, member)).toBe(false);
  });

  it("OnReplenish (the default): takes stale members too, as upstream's claim does", () => {
    const { member, before, labelOnly, specChange, otherTemplate } = scenarios();
    for (const t of [before, labelOnly, specChange, otherTemplate]) expect(adoptable("OnReplenish", t, member)).toBe(true);
  });

  it("refuses a member without a template-ref hash label under every strategy", () => {
    const { member, before } = scenarios();
    delete member.metadata.labels?.[LabelKeys.SandboxTemplateRefHash];
    expect(adoptable("OnReplenish", before, member)).toBe(false);
    expect(adoptable("Recreate", before, member)).toBe(false);
  });

  it("OnReplenish never asks the staleness test, so a claim on such a pool does not hash the template", () => {
    const isStale = vi.fn(() => true);
    const { member } = scenarios();
    expect(adoptableMemberCheck("OnReplenish", isStale)(member)).toBe(true);
    expect(isStale).not.toHaveBeenCalled();
  });
});
