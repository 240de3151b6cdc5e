// Short-lived tokens that authorize exactly one sandbox, signed by the router (HS256 JWT).
// They let an agent that does not speak Kubernetes use a sandbox it was handed, and nothing else.
// A token names the object it was issued for by UID, not only by name: names are reused (a
// claim deleted and created again, a raw Sandbox given a claim's name), UIDs never are.
import { decodeJwt, jwtVerify, SignJWT } from "jose";

export const SCOPED_TOKEN_ISSUER = "agent-sandbox-ts/sandbox-router";
const AUDIENCE = "sandbox";

/**
 * The one object a token opens. A claim token follows its claim: it opens whichever Sandbox that
 * claim controls, so it survives the claim getting a new Sandbox (and works before it has one).
 * A Sandbox token opens that Sandbox only.
 */
export interface ScopedBinding {
  kind: "claim" | "sandbox";
  uid: string;
}

export interface ScopedSubject {
  namespace: string;
  /** Claim or Sandbox name the token was issued for (what its holder calls it by). */
  name: string;
  boundTo: ScopedBinding;
}

/** JWT claim names of the bound UID, one per kind. */
const UID_CLAIM = { claim: "claim_uid", sandbox: "sandbox_uid" } as const;

export class ScopedTokens {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length < 32) throw new Error(`the token signing key must be at least 32 bytes, got ${key.length}`);
    this.#key = key;
  }

  async sign(subject: ScopedSubject, ttlSeconds: number, nowMs = Date.now()): Promise<{ token: string; expiresAt: string }> {
    if (!subject.boundTo.uid)
      throw new Error(`cannot sign a token for ${subject.namespace}/${subject.name} without its ${subject.boundTo.kind} uid`);
    const exp = Math.floor(nowMs / 1000) + ttlSeconds;
    const token = await new SignJWT({ ns: subject.namespace, name: subject.name, [UID_CLAIM[subject.boundTo.kind]]: subject.boundTo.uid })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(SCOPED_TOKEN_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(`${subject.namespace}/${subject.name}`)
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * The subject of a valid token; throws (with jose's reason) on a bad signature or expiry, and
   * on a token bound to no UID (what routers before identity binding signed: such a token would
   * open any object that takes its name, so it is refused rather than honoured by name).
   */
  async verify(token: string): Promise<ScopedSubject> {
    const { payload } = await jwtVerify(token, this.#key, { issuer: SCOPED_TOKEN_ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
    const ns = payload["ns"];
    const name = payload["name"];
    if (typeof ns !== "string" || typeof name !== "string") throw new Error("token lacks its sandbox (ns, name)");
    const claimUid = payload[UID_CLAIM.claim];
    const sandboxUid = payload[UID_CLAIM.sandbox];
    const bindings = [
      ...(typeof claimUid === "string" && claimUid ? [{ kind: "claim" as const, uid: claimUid }] : []),
      ...(typeof sandboxUid === "string" && sandboxUid ? [{ kind: "sandbox" as const, uid: sandboxUid }] : []),
    ];
    const [boundTo] = bindings;
    if (bindings.length !== 1 || !boundTo) {
      throw new Error("token is not bound to one sandbox's uid (tokens from an older router are no longer accepted; ask for a new one)");
    }
    return { namespace: ns, name, boundTo };
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
