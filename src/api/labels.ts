// Label and annotation keys shared by the controllers, the CRD validation rules and clients.
// Values are upstream's (api/v1beta1/sandbox_types.go, extensions/api/v1beta1/*_types.go) so that
// objects created by either implementation are recognised by the other.

export const LabelKeys = {
  /** fnv32a hex of the Sandbox name; selects the Sandbox's Pod/Service/PVCs. */
  SandboxNameHash: "agents.x-k8s.io/sandbox-name-hash",
  /** NameHash of the owning SandboxWarmPool on its (not yet claimed) members. */
  WarmPoolSandbox: "agents.x-k8s.io/warm-pool-sandbox",
  /** NameHash of the SandboxTemplate a Sandbox (and its pod) came from. */
  SandboxTemplateRefHash: "agents.x-k8s.io/sandbox-template-ref-hash",
  /** Hash of the template's SandboxBlueprint, to detect stale warm members. */
  SandboxTemplateHash: "agents.x-k8s.io/sandbox-template-hash",
  /** Deprecated upstream in favour of SandboxTemplateHash; still read for compatibility. */
  SandboxPodTemplateHash: "agents.x-k8s.io/sandbox-pod-template-hash",
  /** UID of the SandboxClaim that owns the Sandbox (upstream SandboxIDLabel). */
  ClaimUID: "agents.x-k8s.io/claim-uid",
  /** "cold" or "warm": how the Sandbox was provisioned. */
  LaunchType: "agents.x-k8s.io/launch-type",
  /** Which component created the object (client, controller, ...). */
  CreatedBy: "agents.x-k8s.io/created-by",
  /** Authorises a Sandbox to adopt a pre-existing unowned Pod/Service/PVC. */
  Adoptable: "agents.x-k8s.io/adoptable",
} as const;

export const AnnotationKeys = {
  /**
   * On a SandboxClaim: the warm-pool Sandbox it adopted. A cold-started claim does not get it (its
   * Sandbox bears the claim's name). Legacy claims may carry the same key as a label.
   */
  SandboxName: "agents.x-k8s.io/sandbox-name",
  /** On a Sandbox: the name of its Pod when it differs from the Sandbox name (deprecated upstream). */
  PodName: "agents.x-k8s.io/pod-name",
  /** On a Sandbox: the SandboxTemplate it was built from. */
  SandboxTemplateRef: "agents.x-k8s.io/sandbox-template-ref",
  /** On a Pod: keys propagated from the pod template, so removed keys can be cleaned up. */
  PropagatedLabels: "agents.x-k8s.io/propagated-labels",
  PropagatedAnnotations: "agents.x-k8s.io/propagated-annotations",
  /**
   * On a SandboxClaim: when the controller first saw it, in Go's RFC3339Nano layout; written once
   * and never changed afterwards (claim latency metrics, debugging).
   */
  ControllerFirstObservedAt: "agents.x-k8s.io/controller-first-observed-at",
  /**
   * On a SandboxTemplate, SandboxClaim or Sandbox: how long a sandbox may go without a call
   * through the router before the operator suspends it ("90s", "15m", "1h30m", or seconds). A
   * Sandbox gets its template's at creation and its claim's (which wins) when the claim binds it.
   */
  IdleTimeout: "agents.x-k8s.io/idle-timeout",
  /** On a Sandbox with an idle timeout: when a call last reached it (RFC 3339; the router writes it). */
  LastActivity: "agents.x-k8s.io/last-activity",
  /** On a Sandbox: when the operator suspended it for idleness (RFC 3339); gone once it runs again. */
  IdleSuspendedAt: "agents.x-k8s.io/idle-suspended-at",
  /** cluster-autoscaler hint set on warm pods and stripped on adoption. */
  SafeToEvict: "cluster-autoscaler.kubernetes.io/safe-to-evict",
} as const;

/** Keys the router (and the SDK in Kubernetes mode) write on the SandboxClaims they create. */
export const RouterKeys = {
  /** The TTL the caller asked for; every execute moves lifecycle.shutdownTime to now + this. */
  TtlSeconds: "router.agent-sandbox-ts.dev/ttl-seconds",
  DisplayName: "router.agent-sandbox-ts.dev/display-name",
  /** Kubernetes username of the caller that created the claim (audit aid, not used for authz). */
  CreatedByUser: "router.agent-sandbox-ts.dev/created-by-user",
  /** Template the claim's pool used at creation, for the `template` list filter. */
  Template: "router.agent-sandbox-ts.dev/template",
} as const;

export const LaunchType = { Cold: "cold", Warm: "warm" } as const;
export type LaunchType = (typeof LaunchType)[keyof typeof LaunchType];

/** User pod-template labels/annotations under these prefixes are never propagated (anti-spoofing). */
export const RESERVED_KEY_PREFIXES = ["agents.x-k8s.io/", "extensions.agents.x-k8s.io/"] as const;

/**
 * Annotation domains a SandboxClaim may not set through additionalPodMetadata (exact domain or any
 * subdomain), except the single key in RESTRICTED_ANNOTATION_EXCEPTIONS. Enforced by the CRD (CEL).
 */
export const RESTRICTED_METADATA_DOMAINS = ["kubernetes.io", "k8s.io", "agents.x-k8s.io"] as const;
export const RESTRICTED_ANNOTATION_EXCEPTIONS = [AnnotationKeys.SafeToEvict] as const;

/** Keys of this implementation's own, on objects users write. */
export const OperatorKeys = {
  /**
   * On a SandboxTemplate: how a claim's env reaches the sandbox. "pod" puts it in the
   * container's spec (upstream's behaviour: the claim is cold-started); anything else, or no
   * annotation, hands it to the injected execution server of a warm sandbox. Templates whose
   * pod serves its own execution API always get "pod".
   */
  EnvDelivery: "agent-sandbox-ts.dev/env-delivery",
  /**
   * On a sandbox Pod, set by the operator when it creates the pod: the ids of the environment
   * keys its execution server trusts (comma-separated). A warm member whose pod lacks the
   * operator's current key cannot receive a claim's env, so such claims pass it over.
   */
  EnvKeys: "agent-sandbox-ts.dev/env-keys",
} as const;

/** Values of OperatorKeys.EnvDelivery. */
export const EnvDelivery = { Pod: "pod", Execd: "execd" } as const;
/** A value of OperatorKeys.EnvDelivery. */
export type EnvDelivery = (typeof EnvDelivery)[keyof typeof EnvDelivery];
