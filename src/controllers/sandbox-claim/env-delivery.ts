// How the operator hands a claim's env to its sandbox's execution server: one PUT /v1/env on the
// execution port of the pod, with a token the operator signs for that very sandbox. The token's
// scope (issuer and type) opens that endpoint and nothing else (see SECURITY.md).
import type { KeyObject } from "node:crypto";
import { ENV_TOKEN_SCOPE, ExecdTokenSigner, type SandboxIdentity } from "../../execd-token/index.js";

/** Where one sandbox's execution server listens, and who it is. */
export interface EnvTarget {
  sandbox: SandboxIdentity;
  podIP: string;
  port: number;
}

/** Hands variables to an execution server; rejects with a message that names no value. */
export interface EnvDelivery {
  deliver(target: EnvTarget, env: Record<string, string>, signal?: AbortSignal): Promise<void>;
}

/** How long one delivery may take: a pod that does not answer is tried again by a later pass. */
const DELIVERY_TIMEOUT_MS = 5_000;

/** The URL of the environment endpoint of a pod (IPv6 addresses in brackets). */
export function envEndpoint(podIP: string, port: number): string {
  const host = podIP.includes(":") ? `[${podIP}]` : podIP;
  return `http://${host}:${port}/v1/env`;
}

/** Delivers over HTTP with tokens signed by the operator's environment key. */
export class HttpEnvDelivery implements EnvDelivery {
  readonly #signer: ExecdTokenSigner;

  constructor(signingKey: KeyObject) {
    this.#signer = new ExecdTokenSigner(signingKey, { scope: ENV_TOKEN_SCOPE });
    // The first signature in a process costs several milliseconds more than later ones; pay it
    // now rather than in the first claim's path to Ready (the token is thrown away).
    this.#signer.sign({ namespace: "warm-up", name: "warm-up", uid: "warm-up" }).catch(() => undefined);
  }

  async deliver(target: EnvTarget, env: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const { token } = await this.#signer.tokenFor(target.sandbox);
    const timeout = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(envEndpoint(target.podIP, target.port), {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ env }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new Error(`the execution server at ${target.podIP}:${target.port} did not answer (${cause})`, { cause: err });
    }
    if (res.ok) {
      await res.body?.cancel();
      return;
    }
    // The server's error names a field at most, never a value (see its environment route).
    const detail = await res.text().catch(() => "");
    throw new Error(`the execution server refused the environment: HTTP ${res.status} ${detail.slice(0, 300)}`);
  }
}
