// Request target -> sandbox pod, answered from the informer caches only (no DNS, no API call).
import { findCondition, getControllerOf } from "../runtime/index.js";
import type { CacheReader, ClaimObject, SandboxObject } from "./caches.js";
import { boundSandboxName, claimState } from "../shared/sandbox/sandbox-state.js";
import { identityOf, type TargetIdentity } from "./scoped-access.js";
import { isLasting } from "./target-health.js";

/** The caches a resolution reads. */
export interface ResolveCaches {
  sandboxes: CacheReader<SandboxObject>;
  claims: CacheReader<ClaimObject>;
}

export type Resolution =
  | { kind: "ready"; namespace: string; sandbox: SandboxObject; claim?: ClaimObject | undefined; podIP: string }
  /** `lasting`: it will not serve again by itself (failed, suspended, being deleted), so calls fail at once. */
  | {
      kind: "not-ready";
      namespace: string;
      sandbox?: SandboxObject | undefined;
      claim?: ClaimObject | undefined;
      reason: string;
      message: string;
      lasting: boolean;
    }
  | { kind: "expired"; namespace: string; claim: ClaimObject; message: string }
  | { kind: "not-found"; namespace: string; name: string };

/** A resolution of a Sandbox that is suspended (and not being deleted). */
export function isSuspended(r: Resolution): r is Extract<Resolution, { kind: "not-ready" }> & { sandbox: SandboxObject } {
  return r.kind === "not-ready" && r.reason === "SandboxSuspended" && r.sandbox !== undefined;
}

/** The live objects a request resolved to, to authorize it against (names for SAR, UIDs for sandbox tokens). */
export function targetOf(r: Resolution): TargetIdentity {
  switch (r.kind) {
    case "ready":
    case "not-ready":
      return identityOf(r.sandbox, r.claim);
    case "expired":
      return identityOf(undefined, r.claim);
    case "not-found":
      return {};
  }
}

export interface ResolveOptions {
  /**
   * Look `id` up as a claim before a Sandbox. Upstream's X-Sandbox-ID may name either, and a
   * Sandbox wins a name both have; a caller holding a claim's token can only mean the claim.
   */
  preferClaim?: boolean | undefined;
}

/**
 * Resolves `id`, which names a Sandbox or a SandboxClaim (upstream's X-Sandbox-ID is either:
 * claims adopted from a warm pool point at a Sandbox with another name).
 */
export function resolveTarget(caches: ResolveCaches, namespace: string, id: string, nowMs: number, opts: ResolveOptions = {}): Resolution {
  let sandbox = opts.preferClaim && caches.claims.get(namespace, id) ? undefined : caches.sandboxes.get(namespace, id);
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
    const named = bound ? caches.sandboxes.get(namespace, bound) : undefined;
    // Only a Sandbox this very claim controls is its: a claim names a warm member a moment before
    // the adoption lands, and a claim's annotations are the user's to edit.
    sandbox = named && getControllerOf(named)?.uid === claim.metadata.uid ? named : undefined;
  }
  if (claim) {
    const { state, reason, message } = claimState(claim, sandbox, nowMs);
    if (state === "expired") return { kind: "expired", namespace, claim, message: message ?? `sandbox ${claim.metadata.name} expired` };
    if (state === "deleting")
      return {
        kind: "not-ready",
        namespace,
        sandbox,
        claim,
        reason: "ClaimDeleting",
        message: `sandbox ${id} is being deleted`,
        lasting: true,
      };
    if (!sandbox && state === "failed") {
      return {
        kind: "not-ready",
        namespace,
        claim,
        reason: reason ?? "ClaimFailed",
        message: `sandbox ${id} failed${message ? `: ${message}` : ""}`,
        lasting: true,
      };
    }
  }
  if (!sandbox) {
    return { kind: "not-ready", namespace, claim, reason: "SandboxPending", message: `claim ${id} has no sandbox yet`, lasting: false };
  }
  const sandboxName = sandbox.metadata.name ?? id;
  const notReady = (reason: string, message: string, lasting: boolean): Resolution => ({
    kind: "not-ready",
    namespace,
    sandbox,
    claim,
    reason,
    message,
    lasting,
  });
  if (sandbox.metadata.deletionTimestamp) return notReady("SandboxDeleting", `sandbox ${sandboxName} is being deleted`, true);
  const ready = findCondition(sandbox.status?.conditions, "Ready");
  const podIP = sandbox.status?.podIPs?.[0];
  if (sandbox.spec.operatingMode === "Suspended") return notReady("SandboxSuspended", `sandbox ${sandboxName} is suspended`, true);
  if (ready?.status !== "True" || !podIP) {
    const reason = ready?.status === "True" ? "SandboxNotReady" : (ready?.reason ?? "SandboxNotReady");
    const detail = ready?.message && ready.status !== "True" ? `: ${ready.message}` : "";
    return notReady(reason, `sandbox ${sandboxName} is not ready${detail}`, isLasting(reason));
  }
  // A claim's env reaches its sandbox's execution server just before the claim turns Ready (and
  // again once a resumed or replaced pod is Ready): until then its code would run without it.
  if (claim && (claim.spec.env?.length ?? 0) > 0) {
    const claimReady = findCondition(claim.status?.conditions, "Ready");
    if (claimReady?.status !== "True") {
      const detail = claimReady?.message ? `is not ready: ${claimReady.message}` : "is waiting for its claim's env";
      return notReady(claimReady?.reason ?? "EnvPending", `sandbox ${sandboxName} ${detail}`, false);
    }
  }
  return { kind: "ready", namespace, sandbox, claim, podIP };
}
