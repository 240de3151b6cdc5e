// What a router-signed sandbox token may open, decided on identities (UIDs) of the live objects
// in the router's caches, never on names alone. Pure.
import { getControllerOf } from "../runtime/index.js";
import type { ClaimObject, SandboxObject } from "./caches.js";
import type { ScopedSubject } from "./scoped-token.js";

/** The live objects a request resolved to, as the router's caches show them. */
export interface TargetIdentity {
  sandbox?: { name: string; uid: string; controllerUid?: string | undefined } | undefined;
  claim?: { name: string; uid: string } | undefined;
}

/** The identity of a Sandbox and/or SandboxClaim; objects without a uid (never from the API) count as absent. */
export function identityOf(sandbox: SandboxObject | undefined, claim: ClaimObject | undefined): TargetIdentity {
  const s =
    sandbox?.metadata.name && sandbox.metadata.uid
      ? { name: sandbox.metadata.name, uid: sandbox.metadata.uid, controllerUid: getControllerOf(sandbox)?.uid }
      : undefined;
  const c = claim?.metadata.name && claim.metadata.uid ? { name: claim.metadata.name, uid: claim.metadata.uid } : undefined;
  return { ...(s ? { sandbox: s } : {}), ...(c ? { claim: c } : {}) };
}

/** What a scoped token is asked to allow (the parts of auth.ts's Action it depends on). */
export type ScopedRequest =
  | { kind: "exec"; namespace: string; requestedName: string; target: TargetIdentity }
  | { kind: "sandbox"; verb: string; namespace: string; requestedName: string; target: TargetIdentity }
  | { kind: "claim"; verb: string; namespace: string; name?: string | undefined; target?: TargetIdentity | undefined }
  | { kind: "pool" };

/**
 * A scoped token may do what its holder needs with its one sandbox: run code in it, suspend and
 * resume it (patch its Sandbox), read and delete its claim. A claim token matches a claim of its
 * UID, and a Sandbox only if that claim controls it; a Sandbox token matches a Sandbox of its
 * UID, and a claim only if that claim controls that Sandbox. Where nothing of the requested name
 * exists, the token's own name is let through, so its holder learns "not found" for its own
 * sandbox rather than "forbidden".
 */
export function scopedAllows(subject: ScopedSubject, request: ScopedRequest): boolean {
  if (request.kind === "pool" || request.namespace !== subject.namespace) return false;
  if (request.kind === "exec" || request.kind === "sandbox") {
    if (request.kind === "sandbox" && request.verb !== "patch") return false;
    const t = request.target;
    if (!t.sandbox && !t.claim) return request.requestedName === subject.name;
    return opensSandbox(subject, t);
  }
  if (request.verb !== "get" && request.verb !== "delete") return false;
  const t = request.target;
  if (!t?.claim) return request.name === subject.name;
  return opensClaim(subject, t);
}

function opensSandbox(subject: ScopedSubject, t: TargetIdentity): boolean {
  const { kind, uid } = subject.boundTo;
  if (kind === "sandbox") return t.sandbox?.uid === uid;
  return t.claim?.uid === uid && (!t.sandbox || t.sandbox.controllerUid === uid);
}

function opensClaim(subject: ScopedSubject, t: TargetIdentity): boolean {
  const { kind, uid } = subject.boundTo;
  if (kind === "claim") return t.claim?.uid === uid;
  return t.sandbox?.uid === uid && t.sandbox.controllerUid === t.claim?.uid;
}

/** Why a scoped token was refused, naming what it is bound to. */
export function scopedRefusal(subject: ScopedSubject, doing: string): string {
  const { kind, uid } = subject.boundTo;
  return `this sandbox token is for ${subject.namespace}/${subject.name} only (the ${kind === "claim" ? "SandboxClaim" : "Sandbox"} of uid ${uid}; an object that took the name later is another one); it cannot ${doing}`;
}
