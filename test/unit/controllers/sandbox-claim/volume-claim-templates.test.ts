import { describe, expect, it } from "vitest";
import type { PersistentVolumeClaimTemplate } from "../../../../src/api/index.js";
import {
  mergeVolumeClaimTemplates,
  templateVolumeClaimTemplatesRefusal,
  volumeClaimTemplatesProblem,
} from "../../../../src/controllers/sandbox-claim/volume-claim-templates.js";

const vct = (name: string | undefined, size = "1Gi"): PersistentVolumeClaimTemplate => ({
  ...(name === undefined ? {} : { metadata: { name } }),
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
});
const names = (r: ReturnType<typeof mergeVolumeClaimTemplates>) => {
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.volumeClaimTemplates.map((v) => [v.metadata?.name, v.spec.resources?.requests?.["storage"]]);
};
const refusal = (message: string) => ({ ok: false, reason: "VolumeClaimTemplatesError", message });

describe("volumeClaimTemplatesProblem", () => {
  it("accepts an empty list and distinct names", () => {
    expect(volumeClaimTemplatesProblem([])).toBeUndefined();
    expect(volumeClaimTemplatesProblem([vct("a"), vct("b")])).toBeUndefined();
  });

  it("names the first entry without a name, missing or empty", () => {
    expect(volumeClaimTemplatesProblem([vct("a"), vct(undefined)])).toBe("invalid volume claim templates: name at index 1 is empty");
    expect(volumeClaimTemplatesProblem([vct("")])).toBe("invalid volume claim templates: name at index 0 is empty");
    expect(volumeClaimTemplatesProblem([{ metadata: {}, spec: {} }])).toBe("invalid volume claim templates: name at index 0 is empty");
  });

  it("names a name used twice", () => {
    expect(volumeClaimTemplatesProblem([vct("a"), vct("b"), vct("a")])).toBe('invalid volume claim templates: duplicate name "a"');
  });
});

describe("mergeVolumeClaimTemplates (upstream's messages, word for word)", () => {
  it("refuses under Disallowed, and when no policy is set", () => {
    const expected = refusal("failed to merge volume claim templates: volume claim templates are disallowed by the template");
    expect(mergeVolumeClaimTemplates([], [vct("custom-data")], "Disallowed")).toEqual(expected);
    expect(mergeVolumeClaimTemplates([], [vct("custom-data")], undefined)).toEqual(expected);
  });

  it("checks both lists before the policy: the template's first, then the claim's", () => {
    expect(mergeVolumeClaimTemplates([vct("")], [vct("")], "Disallowed")).toEqual(
      refusal("failed to merge volume claim templates: template: invalid volume claim templates: name at index 0 is empty"),
    );
    expect(mergeVolumeClaimTemplates([], [vct("")], "Disallowed")).toEqual(
      refusal("failed to merge volume claim templates: claim: invalid volume claim templates: name at index 0 is empty"),
    );
    expect(mergeVolumeClaimTemplates([], [vct("custom-data"), vct("custom-data")], "Allowed")).toEqual(
      refusal('failed to merge volume claim templates: claim: invalid volume claim templates: duplicate name "custom-data"'),
    );
  });

  it("refuses a duplicate name under Overrides too (it would otherwise pick one silently)", () => {
    expect(mergeVolumeClaimTemplates([vct("workspace")], [vct("workspace", "2Gi"), vct("workspace", "3Gi")], "Overrides")).toEqual(
      refusal('failed to merge volume claim templates: claim: invalid volume claim templates: duplicate name "workspace"'),
    );
  });

  it("under Allowed appends new names after the template's", () => {
    expect(names(mergeVolumeClaimTemplates([vct("workspace")], [vct("custom-data", "2Gi")], "Allowed"))).toEqual([
      ["workspace", "1Gi"],
      ["custom-data", "2Gi"],
    ]);
  });

  it("under Allowed refuses a name the template has", () => {
    expect(mergeVolumeClaimTemplates([vct("workspace")], [vct("custom-data"), vct("workspace", "2Gi")], "Allowed")).toEqual(
      refusal(
        'failed to merge volume claim templates: overriding volume claim templates is forbidden by the template: cannot override template volume "workspace"',
      ),
    );
  });

  it("under Overrides replaces the template's entry in place and appends new names in the claim's order", () => {
    const merged = mergeVolumeClaimTemplates(
      [vct("a"), vct("workspace"), vct("b")],
      [vct("z", "5Gi"), vct("workspace", "3Gi"), vct("y")],
      "Overrides",
    );
    expect(names(merged)).toEqual([
      ["a", "1Gi"],
      ["workspace", "3Gi"],
      ["b", "1Gi"],
      ["z", "5Gi"],
      ["y", "1Gi"],
    ]);
  });

  it("reports a policy outside the enum as upstream does, as an unclassified error", () => {
    const r = mergeVolumeClaimTemplates([], [vct("a")], "Sometimes" as never);
    expect(r).toEqual({
      ok: false,
      reason: "ReconcilerError",
      message: 'Error seen: failed to merge volume claim templates: unknown volume claim templates policy "Sometimes"',
    });
  });
});

describe("templateVolumeClaimTemplatesRefusal", () => {
  it("passes a valid or empty list", () => {
    expect(templateVolumeClaimTemplatesRefusal([])).toBeUndefined();
    expect(templateVolumeClaimTemplatesRefusal([vct("workspace")])).toBeUndefined();
  });

  it("refuses an invalid one with upstream's message", () => {
    expect(templateVolumeClaimTemplatesRefusal([vct("data"), vct("data")])).toEqual({
      reason: "VolumeClaimTemplatesError",
      message: 'invalid volume claim templates in template: invalid volume claim templates: duplicate name "data"',
    });
  });
});
