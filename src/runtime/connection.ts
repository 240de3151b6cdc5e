// A connection to one API server: the base URL, one keep-alive agent carrying the TLS settings,
// and the auth headers for each request (taken per request, so rotated tokens and refreshed
// exec credentials are used as soon as they change).
//
// Why node:http(s) and not undici: importing the undici package costs ~27 MB of RSS and seconds
// of start-up in this process (it compiles llhttp to WebAssembly), the operator's budget is
// 200 MB, and node:https is already loaded. Watches are plain chunked responses either way.
import http from "node:http";
import https from "node:https";
import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { ExecCredentialSource } from "./exec-credential.js";
import type { ClusterConfig } from "./kubeconfig.js";

export type RequestHeaders = Record<string, string | string[]>;

export interface Authorized {
  agent: http.Agent;
  headers: RequestHeaders;
}

export interface Connection {
  /** Base URL without a trailing slash. */
  readonly server: string;
  /** For logs: where the config came from. */
  readonly description: string;
  /** The agent and auth headers for the next request. */
  authorize(): Promise<Authorized>;
  /** The API server answered 401: drop cached credentials so the next request fetches fresh ones. */
  unauthorized(): void;
  /** Closes idle keep-alive sockets (tests, shutdown). */
  close(): void;
}

/** Bound service account tokens rotate; client-go reads the file again every minute. */
const TOKEN_FILE_REFRESH_MS = 60_000;
/** TCP keep-alive probe delay: below cloud load balancers' 60 s idle timeouts, as client-go. */
const TCP_KEEPALIVE_MS = 30_000;

function makeAgent(server: string, tls: https.AgentOptions): http.Agent {
  if (server.startsWith("http:")) return new http.Agent({ keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS });
  return new https.Agent({ keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, ...tls });
}

/** A token file read again once it is older than refreshMs; a failed re-read keeps the last token. */
class TokenFile {
  readonly #path: string;
  readonly #refreshMs: number;
  #token: string | undefined;
  #readAt = 0;
  #reading: Promise<string> | undefined;

  constructor(path: string, refreshMs: number) {
    this.#path = path;
    this.#refreshMs = refreshMs;
  }

  async get(): Promise<string> {
    if (this.#token !== undefined && Date.now() - this.#readAt < this.#refreshMs) return this.#token;
    this.#reading ??= this.#read().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  invalidate(): void {
    this.#readAt = 0;
  }

  async #read(): Promise<string> {
    try {
      const t = (await readFile(this.#path, "utf8")).trim();
      if (!t) throw new Error("the file is empty");
      this.#token = t;
      this.#readAt = Date.now();
      return t;
    } catch (err) {
      if (this.#token !== undefined) return this.#token;
      throw new Error(`cannot read the token file ${this.#path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

export interface ConnectOptions {
  /** How often a token file is read again (default 60 s). */
  tokenRefreshMs?: number;
}

/** A Connection from a loaded ClusterConfig (kubeconfig.ts). */
export function connect(cfg: ClusterConfig, opts: ConnectOptions = {}): Connection {
  const tls: https.AgentOptions = { rejectUnauthorized: !cfg.insecureSkipTLSVerify };
  if (cfg.ca) tls.ca = cfg.ca;
  if (cfg.tlsServerName) tls.servername = cfg.tlsServerName;
  const baseHeaders: RequestHeaders = {};
  if (cfg.impersonateUser) baseHeaders["Impersonate-User"] = cfg.impersonateUser;
  if (cfg.impersonateGroups?.length) baseHeaders["Impersonate-Group"] = cfg.impersonateGroups;

  let agent = makeAgent(cfg.server, cfg.clientCert ? { ...tls, cert: cfg.clientCert.cert, key: cfg.clientCert.key } : tls);
  const retired: http.Agent[] = [];
  const cred = cfg.credential;
  const tokenFile = cred.type === "tokenFile" ? new TokenFile(cred.path, opts.tokenRefreshMs ?? TOKEN_FILE_REFRESH_MS) : undefined;
  const exec =
    cred.type === "exec"
      ? new ExecCredentialSource(cred.exec, {
          server: cfg.server,
          tlsServerName: cfg.tlsServerName,
          insecureSkipTLSVerify: cfg.insecureSkipTLSVerify,
          ca: cfg.ca,
        })
      : undefined;
  let execCert: Buffer | undefined;
  const basic = cred.type === "basic" ? `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}` : undefined;

  return {
    server: cfg.server,
    description: cfg.source,
    async authorize(): Promise<Authorized> {
      const headers: RequestHeaders = { ...baseHeaders };
      if (cred.type === "token") headers["Authorization"] = `Bearer ${cred.token}`;
      else if (tokenFile) headers["Authorization"] = `Bearer ${await tokenFile.get()}`;
      else if (basic) headers["Authorization"] = basic;
      else if (exec) {
        const c = await exec.get();
        if (c.token) headers["Authorization"] = `Bearer ${c.token}`;
        if (c.clientCert && !(execCert && execCert.equals(c.clientCert.cert))) {
          // A new client certificate needs new TLS connections; the old agent's sockets
          // (open watches among them) finish on their own and are then closed.
          execCert = c.clientCert.cert;
          retired.push(agent);
          agent = makeAgent(cfg.server, { ...tls, cert: c.clientCert.cert, key: c.clientCert.key });
        }
      }
      return { agent, headers };
    },
    unauthorized(): void {
      tokenFile?.invalidate();
      exec?.invalidate();
    },
    close(): void {
      for (const a of retired.splice(0)) a.destroy();
      agent.destroy();
    },
  };
}

/**
 * A Connection over a client-node KubeConfig, for callers that already have one (router, CLI,
 * SDK, tests): client-node computes TLS material and auth headers (every auth form it knows),
 * and we keep one keep-alive agent per distinct TLS material (client-node's own agents do not
 * keep connections alive).
 */
export function connectionFromKubeConfig(kc: KubeConfig): Connection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const server = cluster.server.replace(/\/+$/, "");
  let agent: http.Agent | undefined;
  let tlsKey = "";
  return {
    server,
    description: `client-node KubeConfig (cluster ${cluster.name})`,
    async authorize(): Promise<Authorized> {
      const o: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      const headers: RequestHeaders = {};
      for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String) : String(v);
      if (o.auth) headers["Authorization"] = `Basic ${Buffer.from(o.auth).toString("base64")}`;
      // A proxy needs client-node's proxy agent; it does not keep connections alive, but works.
      if (cluster.proxyUrl && o.agent instanceof http.Agent) return { agent: o.agent, headers };
      const key = JSON.stringify([pemKey(o.ca), pemKey(o.cert), pemKey(o.key), o.rejectUnauthorized, o.servername]);
      if (!agent || key !== tlsKey) {
        agent?.destroy();
        tlsKey = key;
        const tls: https.AgentOptions = {};
        if (o.ca !== undefined) tls.ca = o.ca;
        if (o.cert !== undefined) tls.cert = o.cert;
        if (o.key !== undefined) tls.key = o.key;
        if (o.rejectUnauthorized !== undefined) tls.rejectUnauthorized = o.rejectUnauthorized;
        if (o.servername !== undefined) tls.servername = o.servername;
        agent = makeAgent(server, tls);
      }
      return { agent, headers };
    },
    unauthorized(): void {},
    close(): void {
      agent?.destroy();
    },
  };
}

function pemKey(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Buffer.isBuffer(v)) return v.toString("base64");
  if (Array.isArray(v)) return v.map(pemKey).join(",");
  return String(v);
}

export function isConnection(x: unknown): x is Connection {
  return (
    typeof x === "object" && x !== null && typeof (x as Connection).authorize === "function" && typeof (x as Connection).server === "string"
  );
}

export interface SendOptions {
  method: string;
  /** Path and query string, e.g. /api/v1/pods?watch=true. */
  path: string;
  headers?: RequestHeaders;
  body?: string | undefined;
  /** Aborting destroys the request (or the response being read) with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Destroy the socket after this long without data (watches). */
  idleTimeoutMs?: number | undefined;
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(r === undefined ? "aborted" : String(r));
}

/**
 * Sends one request and resolves with the response once its headers arrived; the caller reads
 * (or streams) the body. The signal stays attached until the response is closed.
 */
export async function send(conn: Connection, opts: SendOptions): Promise<IncomingMessage> {
  const { agent, headers: auth } = await conn.authorize();
  const signal = opts.signal;
  if (signal?.aborted) throw abortReason(signal);
  const mod = conn.server.startsWith("http:") ? http : https;
  const headers: RequestHeaders = { ...auth, ...opts.headers };
  if (opts.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(opts.body));
  return new Promise<IncomingMessage>((resolve, reject) => {
    let res: IncomingMessage | undefined;
    const onAbort = (): void => {
      const reason = abortReason(signal as AbortSignal);
      res?.destroy(reason);
      req.destroy(reason);
      reject(reason);
    };
    const detach = (): void => signal?.removeEventListener("abort", onAbort);
    const req = mod.request(conn.server + opts.path, { method: opts.method, agent, headers }, (r) => {
      res = r;
      r.once("close", detach);
      resolve(r);
    });
    req.once("error", (err) => {
      detach();
      reject(err);
    });
    if (opts.idleTimeoutMs) {
      req.setTimeout(opts.idleTimeoutMs, () => {
        const err = new Error(`${opts.method} ${opts.path.split("?")[0]}: no data for ${opts.idleTimeoutMs} ms`);
        res?.destroy(err);
        req.destroy(err);
      });
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    req.end(opts.body);
  });
}
