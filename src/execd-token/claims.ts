// What a token for a sandbox's execution server says, shared by the router that signs it, the
// execution server that checks it, and the operator that tells each server who it is.

/** The one Sandbox an execution server serves, and a token may open. */
export interface SandboxIdentity {
  namespace: string;
  name: string;
  /** Names are reused (a Sandbox deleted and created again), UIDs never are. */
  uid: string;
}

/** Issuer of execution-server tokens: the router. */
export const EXECD_TOKEN_ISSUER = "agent-sandbox-ts/sandbox-router";

/**
 * The token's `typ` header. It keeps these tokens apart from the router's own sandbox tokens
 * (same issuer, `typ: JWT`), so neither is ever taken for the other.
 */
export const EXECD_TOKEN_TYPE = "execd+jwt";

/**
 * Who may sign a token and for what: the router's tokens open the whole execution API, the
 * operator's open only the endpoint that sets a claim's environment. Issuer and `typ` both
 * differ, and each server checks each kind against its own keys, so neither key opens the
 * other's routes.
 */
export interface ExecdTokenScope {
  issuer: string;
  type: string;
}

/** The router's tokens: every route but the environment endpoint. */
export const ROUTER_TOKEN_SCOPE: ExecdTokenScope = { issuer: EXECD_TOKEN_ISSUER, type: EXECD_TOKEN_TYPE };

/** Issuer of environment tokens: the operator, which delivers a claim's env to a warm sandbox. */
export const EXECD_ENV_TOKEN_ISSUER = "agent-sandbox-ts/operator";

/** The `typ` header of environment tokens. */
export const EXECD_ENV_TOKEN_TYPE = "execd-env+jwt";

/** The operator's tokens: the environment endpoint only. */
export const ENV_TOKEN_SCOPE: ExecdTokenScope = { issuer: EXECD_ENV_TOKEN_ISSUER, type: EXECD_ENV_TOKEN_TYPE };

/** The one signature algorithm signed and accepted. */
export const EXECD_TOKEN_ALG = "EdDSA";

/** How long a token lives: short, so a token that leaks is soon worthless. */
export const EXECD_TOKEN_LIFETIME_SECONDS = 60;

/** Clock difference between router and sandbox node that a check forgives. */
export const EXECD_TOKEN_CLOCK_SKEW_SECONDS = 5;

/** The audience that binds a token to one sandbox: namespace, name and UID together. */
export function execdAudience(id: SandboxIdentity): string {
  return `sandbox-execd:${id.namespace}/${id.name}/${id.uid}`;
}

/** Reads `namespace/name/uid`, the form the execution server is told its identity in. */
export function parseSandboxIdentity(text: string): SandboxIdentity {
  const parts = text.split("/");
  const [namespace, name, uid] = parts;
  if (parts.length !== 3 || !namespace || !name || !uid) throw new Error(`expected <namespace>/<name>/<uid>, got "${text}"`);
  return { namespace, name, uid };
}

/** The `namespace/name/uid` form of an identity (parseSandboxIdentity reads it back). */
export function formatSandboxIdentity(id: SandboxIdentity): string {
  return `${id.namespace}/${id.name}/${id.uid}`;
}
