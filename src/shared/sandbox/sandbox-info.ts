// What the router's management API and the SDK's Kubernetes mode report about a sandbox: one
// definition for both ends of the wire.

/** Every state a sandbox can be reported in. */
export const SandboxStates = ["creating", "running", "suspended", "expired", "failed", "deleting"] as const;
/** A sandbox's state, reduced from its claim's and its Sandbox's conditions. */
export type SandboxState = (typeof SandboxStates)[number];

/** What the router's management API (and the Kubernetes mode) report about a sandbox. */
export interface SandboxInfo {
  /** The SandboxClaim name; use it to reconnect. */
  id: string;
  namespace: string;
  state: SandboxState;
  reason?: string | undefined;
  message?: string | undefined;
  warmPool: string;
  template?: string | undefined;
  displayName?: string | undefined;
  labels: Record<string, string>;
  /** The Sandbox bound to the claim (differs from `id` after a warm adoption). */
  sandboxName?: string | undefined;
  podIPs?: string[] | undefined;
  createTime?: string | undefined;
  /** When the sandbox expires unless used again (every run extends it through the router). */
  expireTime?: string | undefined;
  ttlSeconds?: number | undefined;
}
