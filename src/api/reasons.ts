// Status condition types, reasons and fixed messages of the agent-sandbox API, in one place.
// Types and reasons are upstream's v1beta1 constants (a client branches on them, so they are
// API); the messages are the exact text upstream's controllers write, so a client or test that
// compares whole conditions sees the same thing from this operator.

/** Condition types on a Sandbox. */
export const SandboxConditionType = {
  /** Observed readiness: True once the Pod is Running+Ready with an IP (and the Service exists, if required). */
  Ready: "Ready",
  /** Progress of an administrative suspension; present from the first reconcile on, False while running. */
  Suspended: "Suspended",
  /** Mirrors the Pod's PodScheduled condition; absent while there is no Pod this Sandbox owns. */
  PodScheduled: "PodScheduled",
  /** True once the Pod reached a terminal phase; absent otherwise. */
  Finished: "Finished",
} as const;
export type SandboxConditionType = (typeof SandboxConditionType)[keyof typeof SandboxConditionType];

/** Reasons on a Sandbox's conditions. */
export const SandboxReason = {
  // Ready
  DependenciesReady: "DependenciesReady",
  DependenciesNotReady: "DependenciesNotReady",
  MultiplePods: "MultiplePods",
  SandboxSuspended: "SandboxSuspended",
  SandboxExpired: "SandboxExpired",
  ReconcilerError: "ReconcilerError",
  // Ready and Finished
  PodSucceeded: "PodSucceeded",
  PodFailed: "PodFailed",
  // Suspended
  PodTerminated: "PodTerminated",
  PodTerminating: "PodTerminating",
  /** Deprecated upstream in favour of PodTerminating; never written, kept so readers know the name. */
  PodNotTerminated: "PodNotTerminated",
  PodNotOwned: "PodNotOwned",
  NotSuspended: "NotSuspended",
  PodStateUnknown: "PodStateUnknown",
  // PodScheduled, when the Pod's own condition carries no reason or there is none yet
  PodScheduled: "PodScheduled",
  PodSchedulingUnknown: "PodSchedulingUnknown",
} as const;
export type SandboxReason = (typeof SandboxReason)[keyof typeof SandboxReason];

/**
 * Upstream's fixed Sandbox condition messages. Ready's message for a provisioning sandbox is
 * composed from the pod part and the service part below ("Pod is Ready; Service Exists").
 */
export const SandboxMessage = {
  NotSuspended: "Sandbox is not suspended",
  PodTerminated: "Pod has been terminated. Sandbox is suspended",
  PodTerminating: "Pod is terminating. Sandbox is suspending",
  PodNotOwned: "Refused to delete pod because it is not owned by this sandbox",
  SuspensionUnknown: "Pod state is unknown. Sandbox suspension cannot be confirmed",
  SchedulingUnknown: "Pod state is unknown. Pod scheduling cannot be determined",
  NoPodScheduledCondition: "Pod has not reported a PodScheduled condition yet",
  Suspending: "Sandbox is suspending",
  Suspended: "Sandbox is suspended",
  Expired: "Sandbox has expired",
  PodSucceeded: "Pod completed successfully",
  PodFailed: "Pod failed",
  PodAbsent: "Pod does not exist",
  PodReady: "Pod is Ready",
  PodReadyNoIPs: "Pod is Ready but has no podIPs yet",
  PodRunningNotReady: "Pod is Running but not Ready",
  /** Followed by the pod's phase. */
  PodPhasePrefix: "Pod exists with phase: ",
  ServiceExists: "; Service Exists",
  ServiceAbsent: "; Service does not exist",
  /** Followed by what went wrong (Ready reason ReconcilerError). */
  ErrorPrefix: "Error seen: ",
} as const;

/** Condition types on a SandboxClaim. */
export const SandboxClaimConditionType = { Ready: "Ready", Finished: "Finished" } as const;
export type SandboxClaimConditionType = (typeof SandboxClaimConditionType)[keyof typeof SandboxClaimConditionType];

/** Reasons on a SandboxClaim's Ready condition (besides those forwarded from its Sandbox). */
export const SandboxClaimReason = {
  TemplateNotFound: "TemplateNotFound",
  WarmPoolNotFound: "WarmPoolNotFound",
  AdoptionConflict: "AdoptionConflict",
  SandboxCreatePending: "SandboxCreatePending",
  InvalidMetadata: "InvalidMetadata",
  EnvVarsInjectionRejected: "EnvVarsInjectionRejected",
  VolumeClaimTemplatesError: "VolumeClaimTemplatesError",
  ClaimExpired: "ClaimExpired",
  SandboxMissing: "SandboxMissing",
  SandboxExpired: "SandboxExpired",
  SandboxNotReady: "SandboxNotReady",
  ReconcilerError: "ReconcilerError",
  /** A Secret (or a key of it) named by spec.env[].valueFrom is missing; retried until it exists. */
  EnvSecretNotFound: "EnvSecretNotFound",
  /** The claim's env could not be handed to its sandbox's execution server yet; retried. */
  EnvNotDelivered: "EnvNotDelivered",
} as const;
export type SandboxClaimReason = (typeof SandboxClaimReason)[keyof typeof SandboxClaimReason];

/** Upstream's fixed SandboxClaim Ready messages, and the prefixes of its refusal messages. */
export const SandboxClaimMessage = {
  ClaimExpired: "Claim expired. Sandbox cleanup initiated.",
  SandboxMissing: "Sandbox does not exist",
  SandboxExpired: "Underlying Sandbox resource has expired independently of the Claim.",
  SandboxNotReady: "Sandbox is not ready",
  SandboxCreatePending: "Sandbox already created; waiting for cache to converge",
  /** Followed by what went wrong (reason ReconcilerError). */
  ErrorPrefix: "Error seen: ",
  /** Upstream's error texts the refusal messages start with, detail following ": ". */
  InvalidMetadataPrefix: "invalid additionalPodMetadata",
  EnvVarsInjectionRejectedPrefix: "environment variable injection rejected",
  VolumeClaimTemplatesDisallowed: "volume claim templates are disallowed by the template",
  VolumeClaimTemplatesOverrideForbiddenPrefix: "overriding volume claim templates is forbidden by the template",
  /** A list without a name on every entry, or with a name twice; followed by which. */
  VolumeClaimTemplatesInvalidPrefix: "invalid volume claim templates",
  /** Wraps any error merging the claim's volume claim templates into the template's. */
  VolumeClaimTemplatesMergeFailedPrefix: "failed to merge volume claim templates",
  /** Wraps an invalid template list when the claim brings none of its own. */
  VolumeClaimTemplatesInvalidInTemplatePrefix: "invalid volume claim templates in template",
} as const;

/**
 * SandboxWarmPool has no conditions upstream. The optional Ready condition (an additive
 * extension) lets a pool whose template is missing say so.
 */
export const SandboxWarmPoolConditionType = { Ready: "Ready" } as const;
/** Reasons on the SandboxWarmPool Ready condition (this operator's own; upstream has none). */
export const SandboxWarmPoolReason = {
  TemplateNotFound: "TemplateNotFound",
  ReplicasReady: "ReplicasReady",
  ReplicasNotReady: "ReplicasNotReady",
  MembersUnschedulable: "MembersUnschedulable",
  ReconcilerError: "ReconcilerError",
} as const;
