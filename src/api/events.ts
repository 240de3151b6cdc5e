// Kubernetes Event reasons the controllers record (upstream names where upstream has one).
export const EventReason = {
  SandboxAdopted: "SandboxAdopted",
  SandboxProvisioned: "SandboxProvisioned",
  ClaimExpired: "ClaimExpired",
  SandboxExpired: "SandboxExpired",
  WarmPoolNotProgressing: "WarmPoolNotProgressing",
  MultiplePods: "MultiplePods",
  ReconcileFailed: "ReconcileFailed",
  /** The node ended the sandbox's pod (an eviction, say) and the Sandbox got a new one. */
  PodReplaced: "PodReplaced",
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];
