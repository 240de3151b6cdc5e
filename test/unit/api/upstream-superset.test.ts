// Our CRDs must accept every manifest upstream agent-sandbox's CRDs accept, with the same meaning:
// same fields and types, same list/map semantics, no extra required fields, no stricter bounds,
// the same defaults and the same CRD-level names, versions, subresources and printer columns.
// Upstream's CRDs are read from its Go module (scripts/lib/upstream-module.sh), never copied here.
// Each deliberate difference is allowlisted below with its reason; anything else fails the test
// with its path.
import { describe, expect, it } from "vitest";
import { buildCrds } from "../../../scripts/lib/crds.js";
import { compareCrds, type Difference } from "./crd-superset.js";
import { loadUpstreamCrds, UPSTREAM_VERSION } from "./upstream-crds.js";

interface Allowed {
  /** A difference id (`<Kind> <version> <path> <check>`); `*` matches any run of characters. */
  id: string;
  reason: string;
}

/** A pod field Kubernetes added after 1.32; our pod schema is generated from Kubernetes 1.32's. */
const newerPodField = (path: string, what: string): Allowed => ({
  id: `* v1beta1 .spec.podTemplate.spec.${path} missing`,
  reason: `not implemented yet: ${what} (a pod field newer than the Kubernetes 1.32 pod schema ours is generated from)`,
});

const ALLOWED: readonly Allowed[] = [
  newerPodField("*ontainers[*].env[*].valueFrom.fileKeyRef", "sets an environment variable from a key in a file on an emptyDir volume"),
  newerPodField("*ontainers[*].lifecycle.stopSignal", "the signal sent to a container when it is stopped"),
  newerPodField("*ontainers[*].restartPolicyRules", "restarts a single container depending on its exit code"),
  newerPodField("hostnameOverride", "sets the pod's hostname to an arbitrary value"),
  newerPodField("schedulingGroup", "names the pod group the scheduler places the pod with"),
  newerPodField(
    "volumes[*].projected.sources[*].podCertificate",
    "projects a kubelet-managed key and certificate from a PodCertificateRequest",
  ),
  {
    id: "* v1beta1 .spec.podTemplate.spec.volumes[*].ephemeral.volumeClaimTemplate.metadata.* extra",
    reason:
      "ours keeps the labels and annotations of an ephemeral volume's claim template; upstream's bare object prunes them, so its PVCs never get them",
  },
  {
    id: "* v1beta1 .status.conditions x-kubernetes-list-*",
    reason:
      "conditions are keyed by type, as Kubernetes' condition convention asks, so server-side apply merges them per type; status comes only from /status writes, never from a user's manifest",
  },
  {
    id: "SandboxWarmPool v1beta1 .status.conditions extra",
    reason: "our addition: a Ready condition saying whether the pool holds its desired Ready replicas",
  },
  {
    id: "SandboxClaim v1beta1 .spec.additionalPodMetadata.* x-kubernetes-validations",
    reason:
      "security default (SECURITY.md): label keys must be valid and labels and annotations in reserved domains are refused at admission; upstream's claim controller refuses them later, when it reconciles",
  },
  {
    id: "SandboxClaim v1beta1 .spec.env[*].valueFrom extra",
    reason: "our addition: a claim's variable may take its value from a key of a Secret in the claim's namespace",
  },
  {
    id: "SandboxClaim v1beta1 .spec.env[*] x-kubernetes-validations",
    reason: "with valueFrom added, exactly one of value and valueFrom must be set; upstream manifests, which always set value, still pass",
  },
  ...["maxLength", "pattern"].map((check) => ({
    id: `SandboxClaim v1beta1 .spec.additionalPodMetadata.labels{*} ${check}`,
    reason:
      "security default (SECURITY.md): label values must be valid Kubernetes label values (at most 63 characters), refused at admission; upstream's claim controller refuses them when it reconciles",
  })),
];

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

const allowed = ALLOWED.map((a) => ({ ...a, re: globToRegExp(a.id) }));

describe(`CRDs are a superset of upstream agent-sandbox ${UPSTREAM_VERSION}`, () => {
  const ours = buildCrds();
  let differences: Difference[] | undefined;
  const all = (): Difference[] => {
    if (differences) return differences;
    // Loaded inside the tests, so a machine without the module fails each one with the message
    // that says to run setup.
    const upstream = loadUpstreamCrds();
    differences = [];
    for (const [kind, crd] of upstream) {
      const mine = ours.find((c) => c.spec.names.kind === kind);
      if (!mine) differences.push({ id: `${kind} crd missing`, detail: "upstream has this kind, we do not" });
      else differences.push(...compareCrds(crd, mine));
    }
    return differences;
  };

  it("upstream's module has the four CRDs", () => {
    expect([...loadUpstreamCrds().keys()].sort()).toEqual(ours.map((c) => c.spec.names.kind).sort());
  });

  it("every difference is allowlisted with its reason", () => {
    const unexplained = all()
      .filter((d) => !allowed.some((a) => a.re.test(d.id)))
      .map((d) => `${d.id}: ${d.detail}`);
    expect(unexplained, "differences from upstream; fix the zod schemas in src/api or allowlist them with a reason").toEqual([]);
  });

  it("every allowlist entry still matches a difference", () => {
    const stale = allowed.filter((a) => !all().some((d) => a.re.test(d.id))).map((a) => a.id);
    expect(stale, "allowlist entries that no longer match any difference; remove them").toEqual([]);
  });

  it("every allowlist entry gives a reason", () => {
    for (const a of ALLOWED) expect(a.reason.length, a.id).toBeGreaterThan(20);
  });
});
