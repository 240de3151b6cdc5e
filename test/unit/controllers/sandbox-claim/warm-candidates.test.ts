import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it, vi } from "vitest";
import { LabelKeys, SandboxSchema, type Sandbox, type SandboxTemplate } from "../../../../src/api/index.js";
import { warmCandidates, type WarmCandidateFilter } from "../../../../src/controllers/sandbox-claim/warm-candidates.js";
import { adoptableMemberCheck } from "../../../../src/controllers/shared/adoptable-member.js";
import type { Named } from "../../../../src/controllers/shared/named.js";
import { sandboxFromTemplate } from "../../../../src/controllers/shared/sandbox-from-template.js";
import { staleMemberCheck } from "../../../../src/controllers/shared/stale-member.js";
import { makeTemplate, poolOwner } from "../fixtures.js";

type Member = Sandbox & KubernetesObject;

/** A pool member built from `template` as the cache shows it: Ready with a pod IP unless told otherwise. */
function member(
  template: Named<SandboxTemplate>,
  name: string,
  o: { createdAt?: string; ready?: boolean; podIPs?: string[] } = {},
): Member {
  const built = sandboxFromTemplate({ name, namespace: "ns", template, owner: poolOwner, labels: { [LabelKeys.WarmPoolSandbox]: "h" } });
  return SandboxSchema.parse({
    ...built,
    metadata: { ...built.metadata, uid: `uid-${name}`, resourceVersion: "1", creationTimestamp: o.createdAt ?? "2026-01-01T00:00:00Z" },
    status: {
      conditions: [
        {
          type: "Ready",
          status: o.ready === false ? "False" : "True",
          reason: "DependenciesReady",
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
      podIPs: o.podIPs ?? ["10.0.0.1"],
    },
  }) as Member;
}

const filter = (o: Partial<WarmCandidateFilter> = {}): WarmCandidateFilter => ({
  namespace: "ns",
  poolUID: "uid-pool",
  adoptable: () => true,
  taken: () => false,
  ...o,
});

const names = (list: { metadata: { name: string } }[]) => list.map((m) => m.metadata.name);

describe("warmCandidates", () => {
  const t = makeTemplate();

  it("keeps Ready members with pod IPs that the pool controls, oldest first", () => {
    const members = [member(t, "newer", { createdAt: "2026-01-01T00:00:02Z" }), member(t, "older", { createdAt: "2026-01-01T00:00:01Z" })];
    expect(names(warmCandidates(members, filter()))).toEqual(["older", "newer"]);
  });

  it("leaves out members that are not Ready, have no pod IPs, are being deleted, belong elsewhere, or are taken", () => {
    const deleting = member(t, "deleting");
    deleting.metadata.deletionTimestamp = new Date("2026-01-01T00:00:05Z");
    const released = member(t, "released");
    released.metadata.ownerReferences = [{ ...poolOwner, uid: "uid-claim" }];
    const elsewhere = member(t, "elsewhere");
    elsewhere.metadata.namespace = "other";
    const members = [
      member(t, "ok"),
      member(t, "not-ready", { ready: false }),
      member(t, "no-ips", { podIPs: [] }),
      deleting,
      released,
      elsewhere,
      member(t, "taken"),
    ];
    expect(names(warmCandidates(members, filter({ taken: (m) => m.metadata.name === "taken" })))).toEqual(["ok"]);
  });

  it("asks the template rule last, so it only looks at members that pass every other check", () => {
    const adoptable = vi.fn(() => true);
    warmCandidates(
      [member(t, "ok"), member(t, "not-ready", { ready: false }), member(t, "taken")],
      filter({ adoptable, taken: (m) => m.metadata.name === "taken" }),
    );
    expect(adoptable).toHaveBeenCalledTimes(1);
  });

  describe("with the template rule of each update strategy", () => {
    const labelOnly = structuredClone(t);
    labelOnly.spec.podTemplate.metadata = { labels: { app: "agent", "new-label": "new-value" } };
    const specChange = makeTemplate({ service: true });
    const pick = (strategy: "Recreate" | "OnReplenish", template: Named<SandboxTemplate>) =>
      names(warmCandidates([member(t, "old")], filter({ adoptable: adoptableMemberCheck(strategy, staleMemberCheck(template)) })));

    it("Recreate adopts a member the pool keeps after a label-only template change", () => {
      expect(pick("Recreate", labelOnly)).toEqual(["old"]);
    });

    it("Recreate does not adopt a member whose spec no longer matches the template", () => {
      expect(pick("Recreate", specChange)).toEqual([]);
    });

    it("OnReplenish adopts members whatever changed on the template", () => {
      expect(pick("OnReplenish", labelOnly)).toEqual(["old"]);
      expect(pick("OnReplenish", specChange)).toEqual(["old"]);
    });
  });
});
