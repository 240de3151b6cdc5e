// The router's side: one short-lived token per sandbox, reused until shortly before it expires,
// so signing costs one Ed25519 signature per sandbox per minute rather than one per call.
import type { KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { LRUCache } from "lru-cache";
import {
  EXECD_TOKEN_ALG,
  EXECD_TOKEN_LIFETIME_SECONDS,
  ROUTER_TOKEN_SCOPE,
  execdAudience,
  type ExecdTokenScope,
  type SandboxIdentity,
} from "./claims.js";
import { keyId, publicOf } from "./keys.js";

/** A signed token and when it stops being accepted. */
export interface ExecdToken {
  token: string;
  /** Unix time in ms. */
  expiresAtMs: number;
}

export interface ExecdTokenSignerOptions {
  lifetimeSeconds?: number;
  /** A cached token is replaced once it has less than this left (a call may take a moment to reach the pod). */
  renewBeforeSeconds?: number;
  /** Most sandboxes whose tokens are kept. */
  cacheMax?: number;
  /** What the tokens are for; the router's scope unless said otherwise. */
  scope?: ExecdTokenScope;
}

/** Signs execution-server tokens with the router's private key (or, scoped to env, the operator's). */
export class ExecdTokenSigner {
  readonly #key: KeyObject;
  readonly #kid: string;
  readonly #lifetimeSeconds: number;
  readonly #renewBeforeMs: number;
  readonly #cache: LRUCache<string, ExecdToken>;
  readonly #scope: ExecdTokenScope;

  constructor(privateKey: KeyObject, opts: ExecdTokenSignerOptions = {}) {
    this.#key = privateKey;
    this.#kid = keyId(privateKey);
    this.#lifetimeSeconds = opts.lifetimeSeconds ?? EXECD_TOKEN_LIFETIME_SECONDS;
    this.#renewBeforeMs = (opts.renewBeforeSeconds ?? 20) * 1000;
    if (this.#renewBeforeMs >= this.#lifetimeSeconds * 1000) throw new Error("a token must be renewed before it expires, not after");
    this.#cache = new LRUCache({ max: opts.cacheMax ?? 10_000 });
    this.#scope = opts.scope ?? ROUTER_TOKEN_SCOPE;
  }

  /** The public half, for logs and for anyone told which key to trust. */
  get publicKey(): KeyObject {
    return publicOf(this.#key);
  }

  /** A token for `sandbox`: the cached one while it has long enough left, else a new one. */
  async tokenFor(sandbox: SandboxIdentity, nowMs = Date.now()): Promise<ExecdToken> {
    if (!sandbox.uid) throw new Error(`cannot sign an execution-server token for ${sandbox.namespace}/${sandbox.name} without its uid`);
    const audience = execdAudience(sandbox);
    const cached = this.#cache.get(audience);
    if (cached && cached.expiresAtMs - nowMs > this.#renewBeforeMs) return cached;
    const fresh = await this.sign(sandbox, nowMs);
    this.#cache.set(audience, fresh);
    return fresh;
  }

  /** A new token for `sandbox`, never cached. */
  async sign(sandbox: SandboxIdentity, nowMs = Date.now()): Promise<ExecdToken> {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.#lifetimeSeconds;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: EXECD_TOKEN_ALG, typ: this.#scope.type, kid: this.#kid })
      .setIssuer(this.#scope.issuer)
      .setAudience(execdAudience(sandbox))
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAtMs: exp * 1000 };
  }
}
