// The answer of the router's POST /v1/sandboxes/{id}/execd-token, which the SDK's Kubernetes
// mode reads to call a sandbox's execution server directly.

/** The token, and the pod it opens (the token is bound to that sandbox's uid). */
export interface ExecdTokenAnswer {
  id: string;
  namespace: string;
  sandbox: { name: string; uid: string };
  podIP: string;
  port: number;
  token: string;
  expiresAt: string;
}
