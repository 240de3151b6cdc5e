// Short-lived tokens that authorize exactly one sandbox, signed by the router (HS256 JWT).
// They let an agent that does not speak Kubernetes use a sandbox it was handed, and nothing else.
import { decodeJwt, jwtVerify, SignJWT } from "jose";

export const SCOPED_TOKEN_ISSUER = "agent-sandbox-ts/sandbox-router";
const AUDIENCE = "sandbox";

export interface ScopedSubject {
  namespace: string;
  /** Claim or Sandbox name the token was issued for. */
  name: string;
}

export class ScopedTokens {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length < 32) throw new Error(`the token signing key must be at least 32 bytes, got ${key.length}`);
    this.#key = key;
  }

  async sign(subject: ScopedSubject, ttlSeconds: number, nowMs = Date.now()): Promise<{ token: string; expiresAt: string }> {
    const exp = Math.floor(nowMs / 1000) + ttlSeconds;
    const token = await new SignJWT({ ns: subject.namespace, name: subject.name })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(SCOPED_TOKEN_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(`${subject.namespace}/${subject.name}`)
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The subject of a valid token; throws (with jose's reason) on a bad signature or expiry. */
  async verify(token: string): Promise<ScopedSubject> {
    const { payload } = await jwtVerify(token, this.#key, { issuer: SCOPED_TOKEN_ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
    const ns = payload["ns"];
    const name = payload["name"];
    if (typeof ns !== "string" || typeof name !== "string") throw new Error("token lacks its sandbox (ns, name)");
    return { namespace: ns, name };
  }
}

/** True if the token claims to be one of ours (so it is never sent to TokenReview). */
export function looksScoped(token: string): boolean {
  try {
    return decodeJwt(token).iss === SCOPED_TOKEN_ISSUER;
  } catch {
    return false;
  }
}
