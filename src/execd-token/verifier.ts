// The execution server's side: a token opens this server only if one of the keys it was given
// at start signed it, it has not expired, and its audience is this very sandbox (namespace,
// name and UID), so a token for one sandbox is worthless at any other.
import type { KeyObject } from "node:crypto";
import { jwtVerify, type JWTHeaderParameters } from "jose";
import {
  EXECD_TOKEN_ALG,
  EXECD_TOKEN_CLOCK_SKEW_SECONDS,
  EXECD_TOKEN_LIFETIME_SECONDS,
  ROUTER_TOKEN_SCOPE,
  execdAudience,
  type ExecdTokenScope,
  type SandboxIdentity,
} from "./claims.js";
import { keyId } from "./keys.js";

/** Checks execution-server tokens for one sandbox. */
export class ExecdTokenVerifier {
  readonly #keys: Map<string, KeyObject>;
  readonly #audience: string;
  readonly #scope: ExecdTokenScope;

  /** `scope` says which kind of token this verifier accepts: the router's unless said otherwise. */
  constructor(trustedKeys: readonly KeyObject[], sandbox: SandboxIdentity, scope: ExecdTokenScope = ROUTER_TOKEN_SCOPE) {
    this.#keys = new Map(trustedKeys.map((k) => [keyId(k), k]));
    this.#audience = execdAudience(sandbox);
    this.#scope = scope;
  }

  /** Resolves if `token` opens this sandbox; rejects with the reason otherwise. */
  async verify(token: string, nowMs = Date.now()): Promise<void> {
    const keyFor = (header: JWTHeaderParameters): KeyObject => {
      const key = header.kid === undefined ? undefined : this.#keys.get(header.kid);
      if (!key) throw new Error(`token signed by a key this sandbox does not trust (kid ${header.kid ?? "missing"})`);
      return key;
    };
    await jwtVerify(token, keyFor, {
      algorithms: [EXECD_TOKEN_ALG],
      typ: this.#scope.type,
      issuer: this.#scope.issuer,
      audience: this.#audience,
      clockTolerance: EXECD_TOKEN_CLOCK_SKEW_SECONDS,
      // Refuses a token whose issue time is far back even if its expiry was set far ahead.
      maxTokenAge: EXECD_TOKEN_LIFETIME_SECONDS + EXECD_TOKEN_CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "iat"],
      currentDate: new Date(nowMs),
    });
  }
}
