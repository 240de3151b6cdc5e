import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ExecdTokenVerifier } from "../../execd-token/index.js";

/** What the server accepts as `Authorization: Bearer <token>`; with neither set, every call is allowed. */
export interface AuthOptions {
  /** A fixed token (standalone use, tests). */
  token?: string | undefined;
  /** Router-signed tokens for this sandbox (what the operator configures in a sandbox pod). */
  verifier?: ExecdTokenVerifier | undefined;
  /**
   * Operator-signed tokens for this sandbox, accepted on the environment endpoint only: the
   * operator may hand a claim's variables to the server, and nothing else.
   */
  envVerifier?: ExecdTokenVerifier | undefined;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
  return match?.[1]?.trim() || undefined;
}

/**
 * Decides whether a request may use the server. Fixed tokens are compared as SHA-256 digests,
 * so the comparison takes the same time whatever the length of the presented token.
 */
export class RequestAuth {
  readonly #fixed: Buffer[] = [];
  readonly #verifier: ExecdTokenVerifier | undefined;
  readonly #envVerifier: ExecdTokenVerifier | undefined;
  readonly #onRefusal: ((reason: string) => void) | undefined;

  constructor(o: AuthOptions, onRefusal?: (reason: string) => void) {
    if (o.token) this.#fixed.push(sha256(o.token));
    this.#verifier = o.verifier;
    this.#envVerifier = o.envVerifier;
    this.#onRefusal = onRefusal;
  }

  /** Whether calls need a token at all. */
  get required(): boolean {
    return this.#fixed.length > 0 || this.#verifier !== undefined || this.#envVerifier !== undefined;
  }

  /** Whether a request may use the execution API (every route but the environment endpoint). */
  allows(req: IncomingMessage): Promise<boolean> {
    return this.#check(req, this.#verifier);
  }

  /**
   * Whether a request may set the environment: a fixed token (standalone use) or an
   * operator-signed one. The router's tokens are refused here, so a caller going through the
   * router cannot change what every context of the sandbox sees.
   */
  allowsEnv(req: IncomingMessage): Promise<boolean> {
    return this.#check(req, this.#envVerifier);
  }

  async #check(req: IncomingMessage, verifier: ExecdTokenVerifier | undefined): Promise<boolean> {
    if (!this.required) return true;
    const presented = bearerOf(req);
    if (!presented) return false;
    const digest = sha256(presented);
    if (this.#fixed.some((t) => timingSafeEqual(t, digest))) return true;
    if (!verifier) return false;
    try {
      await verifier.verify(presented);
      return true;
    } catch (err) {
      this.#onRefusal?.((err as Error).message);
      return false;
    }
  }

  /**
   * A token for the server's own warm-up call through its HTTP stack, where it cannot sign a
   * router token. Random, never leaves the process, and stops working when revoked.
   */
  localToken(): { token: string; revoke: () => void } {
    const token = randomBytes(32).toString("base64url");
    const digest = sha256(token);
    this.#fixed.push(digest);
    return {
      token,
      revoke: () => {
        const at = this.#fixed.indexOf(digest);
        if (at >= 0) this.#fixed.splice(at, 1);
      },
    };
  }
}
