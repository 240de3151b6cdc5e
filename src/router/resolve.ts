// Request target -> sandbox pod, answered from the informer caches only (no DNS, no API call).
import type { V1Secret } from "@kubernetes/client-node";
import { findCondition, getControllerOf, type Condition } from "../runtime/index.js";
import type { ClaimObject, RouterCaches, SandboxObject } from "./caches.js";
import { boundSandboxName, claimState } from "./sandbox-state.js";

export type Resolution =
  | { kind: "ready"; namespace: string; sandbox: SandboxObject; claim?: ClaimObject | undefined; podIP: string; execdToken?: string | undefined }
  | { kind: "not-ready"; namespace: string; sandboxName?: string | undefined; claim?: ClaimObject | undefined; reason: string; message: string }
  | { kind: "expired"; namespace: string; claim: ClaimObject; message: string }
  | { kind: "not-found"; namespace: string; name: string };

/** Names that may be used to authorize a request against this resolution (sandbox and claim). */
export function namesOf(r: Resolution): { sandboxName?: string | undefined; claimName?: string | undefined } {
  switch (r.kind) {
    case "ready":
      return { sandboxName: r.sandbox.metadata.name, claimName: r.claim?.metadata.name };
    case "not-ready":
      return { sandboxName: r.sandboxName, claimName: r.claim?.metadata.name };
    case "expired":
      return { claimName: r.claim.metadata.name };
    case "not-found":
      return {};
  }
}

/**
 * Resolves `id`, which names a Sandbox or a SandboxClaim (upstream's X-Sandbox-ID is either:
 * claims adopted from a warm pool point at a Sandbox with another name).
 */
export function resolveTarget(caches: RouterCaches, namespace: string, id: string, nowMs: number): Resolution {
  let sandbox = caches.sandboxes.get(namespace, id);
  let claim: ClaimObject | undefined;
  if (sandbox) {
    const owner = getControllerOf(sandbox);
    if (owner?.kind === "SandboxClaim") {
      const c = caches.claims.get(namespace, owner.name);
      if (c && c.metadata.uid === owner.uid) claim = c;
    }
  } else {
    claim = caches.claims.get(namespace, id);
    if (!claim) return { kind: "not-found", namespace, name: id };
    const bound = boundSandboxName(claim);
    sandbox = bound ? caches.sandboxes.get(namespace, bound) : undefined;
  }
  if (claim) {
    const { state, message } = claimState(claim, sandbox, nowMs);
    if (state === "expired") return { kind: "expired", namespace, claim, message: message ?? `sandbox ${claim.metadata.name} expired` };
  }
  if (!sandbox) {
    return { kind: "not-ready", namespace, claim, reason: "SandboxPending", message: `claim ${id} has no sandbox yet` };
  }
  const sandboxName = sandbox.metadata.name ?? id;
  if (sandbox.metadata.deletionTimestamp) {
    return { kind: "not-ready", namespace, sandboxName, claim, reason: "SandboxDeleting", message: `sandbox ${sandboxName} is being deleted` };
  }
  const ready = findCondition(sandbox.status?.conditions as Condition[] | undefined, "Ready");
  const podIP = sandbox.status?.podIPs?.[0];
  if (sandbox.spec.operatingMode === "Suspended") {
    return { kind: "not-ready", namespace, sandboxName, claim, reason: "SandboxSuspended", message: `sandbox ${sandboxName} is suspended` };
  }
  if (ready?.status !== "True" || !podIP) {
    return {
      kind: "not-ready",
      namespace,
      sandboxName,
      claim,
      reason: ready?.reason ?? "SandboxNotReady",
      message: ready?.message ? `sandbox ${sandboxName} is not ready: ${ready.message}` : `sandbox ${sandboxName} is not ready`,
    };
  }
  return { kind: "ready", namespace, sandbox, claim, podIP, execdToken: execdTokenOf(caches, sandbox) };
}

/**
 * The execution server's token from the sandbox's Secret, only if the Secret is the one the
 * operator made for this very sandbox (controlled by its uid), so a look-alike Secret placed
 * in the namespace cannot redirect the router's credentials.
 */
function execdTokenOf(caches: RouterCaches, sandbox: SandboxObject): string | undefined {
  const secret: V1Secret | undefined = caches.secrets.get(sandbox.metadata.namespace, `${sandbox.metadata.name}-execd-token`);
  if (!secret || getControllerOf(secret)?.uid !== sandbox.metadata.uid) return undefined;
  const encoded = secret.data?.["token"];
  return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
}
