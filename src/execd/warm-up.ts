// One call per prewarmed language through execd's own HTTP stack, right after boot. Starting the
// interpreter (--prewarm) is not enough: the first /v1/execute still ran the HTTP parsing, the
// route, the workspace snapshot and the driver's cell compilation for the first time (V8 and
// CPython compile those lazily), which made a claimed sandbox's first call 20-110 ms slower than
// its second under gVisor; after one warm-up call the first real call costs what later ones do.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { Logger } from "pino";
import { ExecdTokenSigner, ExecdTokenVerifier } from "../execd-token/index.js";
import type { Language } from "./kernels/drivers.js";

/** A cell with no output, no result and no state change in each language. */
const noOp: Record<Language, string> = { python: "None", javascript: "undefined", bash: "true" };

export interface WarmUpOptions {
  port: number;
  /** The address the server listens on; a wildcard is reached on loopback. */
  host: string;
  token: string | undefined;
  languages: Language[];
  logger: Logger;
}

export async function warmUpExecutePath(o: WarmUpOptions): Promise<void> {
  const host = o.host === "0.0.0.0" || o.host === "::" || o.host === "" ? "127.0.0.1" : o.host;
  for (const language of o.languages) {
    const started = performance.now();
    const status = await post(host, o.port, o.token, JSON.stringify({ code: noOp[language], language }));
    if (status === 200) o.logger.info({ language, ms: Math.round(performance.now() - started) }, "warm-up call answered");
    if (status !== 200) o.logger.warn({ language, status }, "warm-up call was refused; the first real call will be slower");
  }
}

/**
 * One token signed and checked with a throwaway key that nothing else trusts. The first token
 * check in a process (jose, Web Crypto's Ed25519) costs several times what later ones do; without
 * this, the operator's environment delivery at claim time and the router's first call would pay it.
 */
export async function warmUpTokenCheck(logger: Logger): Promise<void> {
  const started = performance.now();
  const key = generateKeyPairSync("ed25519");
  const identity = { namespace: "warm-up", name: "warm-up", uid: "warm-up" };
  const { token } = await new ExecdTokenSigner(key.privateKey).sign(identity);
  await new ExecdTokenVerifier([key.publicKey], identity).verify(token);
  logger.info({ ms: Math.round(performance.now() - started) }, "token check warmed up");
}

function post(host: string, port: number, token: string | undefined, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        method: "POST",
        path: "/v1/execute",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
