// Kubernetes Event reasons the controllers record (upstream names where upstream has one).
export const EventReason = {
  SandboxAdopted: "SandboxAdopted",
  SandboxProvisioned: "SandboxProvisioned",
  ClaimExpired: "ClaimExpired",
  SandboxExpired: "SandboxExpired",
  WarmPoolNotProgressing: "WarmPoolNotProgressing",
  MultiplePods: "MultiplePods",
  ReconcileFailed: "ReconcileFailed",
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];
