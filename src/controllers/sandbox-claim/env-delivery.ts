// How the operator hands a claim's env to its sandbox's execution server: one PUT /v1/env on the
// execution port of the pod, with a token the operator signs for that very sandbox. The token's
// scope (issuer and type) opens that endpoint and nothing else (see SECURITY.md).
import type { KeyObject } from "node:crypto";
import http from "node:http";
import { ENV_TOKEN_SCOPE, ExecdTokenSigner, type SandboxIdentity } from "../../execd-token/index.js";

/** Where one sandbox's execution server listens, and who it is. */
export interface EnvTarget {
  sandbox: SandboxIdentity;
  podIP: string;
  port: number;
}

/**
 * A request opened ahead of time: connection, token and headers are out, the body (the values)
 * is not. The claim reconciler opens one while it adopts a warm member, so that what is left
 * once the adoption is won is one small write and the answer.
 */
export interface PreparedDelivery {
  /** Sends the variables and waits for the answer; rejects with a message that names no value. */
  send(env: Record<string, string>): Promise<void>;
  /** Gives the request up; nothing has been sent but the token for this sandbox. */
  abort(): void;
}

/** Hands variables to an execution server. */
export interface EnvDelivery {
  prepare(target: EnvTarget, signal?: AbortSignal): PreparedDelivery;
  deliver(target: EnvTarget, env: Record<string, string>, signal?: AbortSignal): Promise<void>;
}

/** How long one delivery may take: a pod that does not answer is tried again by a later pass. */
const DELIVERY_TIMEOUT_MS = 5_000;

/** Delivers over HTTP with tokens signed by the operator's environment key. */
export class HttpEnvDelivery implements EnvDelivery {
  readonly #signer: ExecdTokenSigner;

  constructor(signingKey: KeyObject) {
    this.#signer = new ExecdTokenSigner(signingKey, { scope: ENV_TOKEN_SCOPE });
    // The first signature in a process costs several milliseconds more than later ones; pay it
    // now rather than in the first claim's path to Ready (the token is thrown away).
    this.#signer.sign({ namespace: "warm-up", name: "warm-up", uid: "warm-up" }).catch(() => undefined);
  }

  deliver(target: EnvTarget, env: Record<string, string>, signal?: AbortSignal): Promise<void> {
    return this.prepare(target, signal).send(env);
  }

  prepare(target: EnvTarget, signal?: AbortSignal): PreparedDelivery {
    const where = `${target.podIP}:${target.port}`;
    let aborted = false;
    let request: http.ClientRequest | undefined;
    // Settles with the request once its headers are on their way (or with why they are not).
    let opened: (req: http.ClientRequest) => void = () => undefined;
    let failed: (err: Error) => void = () => undefined;
    const open = new Promise<http.ClientRequest>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    const answer = new Promise<void>((resolve, reject) => {
      this.#signer.tokenFor(target.sandbox).then(({ token }) => {
        if (aborted) return reject(new Error("the delivery was given up"));
        const req = http.request({
          host: target.podIP,
          port: target.port,
          method: "PUT",
          path: "/v1/env",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          agent: false,
          timeout: DELIVERY_TIMEOUT_MS,
          ...(signal ? { signal } : {}),
        });
        request = req;
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", (err: NodeJS.ErrnoException) => {
          const error = new Error(`the execution server at ${where} did not answer (${err.code ?? err.message})`, { cause: err });
          failed(error);
          reject(error);
        });
        req.on("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve();
            // The server's error names a field at most, never a value (see its environment route).
            const detail = Buffer.concat(chunks).toString("utf8").slice(0, 300);
            reject(new Error(`the execution server refused the environment: HTTP ${status} ${detail}`));
          });
        });
        req.flushHeaders();
        opened(req);
      }, reject);
    });
    // Both are observed through send(); a delivery given up must not leave them unhandled.
    answer.catch(() => undefined);
    open.catch(() => undefined);
    return {
      send: async (env) => {
        const req = await Promise.race([open, answer.then(() => undefined)]);
        if (!req) throw new Error(`the execution server at ${where} answered before the environment was sent`);
        req.end(JSON.stringify({ env }));
        await answer;
      },
      abort: () => {
        aborted = true;
        request?.destroy();
      },
    };
  }
}
