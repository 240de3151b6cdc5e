// Streams one request to a sandbox's pod and its response back, chunk by chunk (NDJSON events
// reach the client as the execution server writes them). Nothing is buffered here.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { RouterError } from "./errors.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1) never cross a proxy. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
]);

export interface UpstreamTarget {
  host: string;
  port: number;
  path: string;
  /** Execution-server token sent as Authorization (the client's own credential never is). */
  execdToken?: string | undefined;
}

/** Request headers for the sandbox: no hop-by-hop, no client credentials, no routing headers. */
export function upstreamRequestHeaders(req: IncomingMessage, target: UpstreamTarget): OutgoingHttpHeaders {
  const listed = new Set((req.headers.connection ?? "").split(",").map((h) => h.trim().toLowerCase()));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    if (name === "authorization" || name === "host" || name === "cookie" || name.startsWith("x-sandbox-")) continue;
    out[name] = value;
  }
  const remote = req.socket.remoteAddress ?? "";
  const prior = req.headers["x-forwarded-for"];
  out["x-forwarded-for"] = prior ? `${String(prior)}, ${remote}` : remote;
  out["x-forwarded-host"] = req.headers.host ?? "";
  out["x-forwarded-proto"] = "http";
  out.host = `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
  if (target.execdToken) out.authorization = `Bearer ${target.execdToken}`;
  return out;
}

export function downstreamResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set((headers.connection ?? "").split(",").map((h) => h.trim().toLowerCase()));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: "lifo" });

export interface ForwardOptions {
  idleTimeoutMs: number;
  /** A new connection not established within this long fails as ConnectFailed. */
  connectTimeoutMs: number;
  /** Called once with the upstream status (before the body streams). */
  onResponse?: (status: number) => void;
  /** Replace a response before it is relayed (the router maps the pod's 401 to 502). */
  mapStatus?: (status: number) => RouterError | undefined;
  /**
   * Aborts the call, its reason a RouterError: answered as such if the pod's response has not
   * started, else the client's connection is cut (a status can no longer be sent).
   */
  signal?: AbortSignal | undefined;
}

/**
 * The connection to the pod failed before any of the request was sent: nothing reached the
 * sandbox, so the call may be sent again.
 */
export class ConnectFailed extends RouterError {}

/**
 * Forwards `req` to `target`. Resolves when the response has been fully relayed or either side
 * went away; failures before the response head become RouterErrors (502/503/504). The request
 * body is read only once the connection is up, so after a ConnectFailed `req` is untouched.
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: UpstreamTarget, opts: ForwardOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let sent = false;
    let connectTimer: ReturnType<typeof setTimeout> | undefined;
    const done = (err?: RouterError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const upstream = http.request({
      agent,
      host: target.host,
      port: target.port,
      method: req.method,
      path: target.path,
      headers: upstreamRequestHeaders(req, target),
    });
    const onAbort = (): void => {
      const reason =
        opts.signal?.reason instanceof RouterError ? opts.signal.reason : new RouterError(503, "aborted", "the call was aborted");
      if (res.headersSent) res.destroy();
      upstream.destroy();
      done(res.headersSent ? undefined : reason);
    };
    const send = (): void => {
      clearTimeout(connectTimer);
      if (settled) return;
      sent = true;
      req.pipe(upstream);
    };
    upstream.on("socket", (socket) => {
      if (settled) return;
      if (!socket.connecting) return send();
      connectTimer = setTimeout(
        () => upstream.destroy(Object.assign(new Error(`no connection within ${opts.connectTimeoutMs} ms`), { code: "ETIMEDOUT" })),
        opts.connectTimeoutMs,
      );
      socket.once("connect", send);
    });
    upstream.setTimeout(opts.idleTimeoutMs, () =>
      upstream.destroy(new RouterError(504, "upstream_timeout", `the sandbox sent nothing for ${opts.idleTimeoutMs} ms`)),
    );
    upstream.on("response", (up) => {
      const status = up.statusCode ?? 502;
      const replaced = opts.mapStatus?.(status);
      if (replaced) {
        up.resume();
        done(replaced);
        return;
      }
      opts.onResponse?.(status);
      res.writeHead(status, up.statusMessage, downstreamResponseHeaders(up.headers));
      res.flushHeaders();
      up.on("data", (chunk: Buffer) => {
        // Respect the client's pace: pause the pod's stream while the client's socket is full.
        if (!res.write(chunk)) {
          up.pause();
          res.once("drain", () => up.resume());
        }
      });
      up.on("end", () => {
        res.end();
        done();
      });
      up.on("error", () => {
        // Headers are out: the only honest signal left is to cut the connection.
        res.destroy();
        done();
      });
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      if (err instanceof RouterError) return done(err);
      if (!sent) {
        const hint = err.code === "ECONNREFUSED" ? "; it may still be starting" : "";
        return done(
          new ConnectFailed(
            503,
            "upstream_unavailable",
            `the sandbox at ${target.host}:${target.port} could not be reached (${err.code ?? err.message})${hint}`,
            { "retry-after": "1" },
          ),
        );
      }
      done(new RouterError(502, "bad_gateway", `the sandbox connection failed: ${err.message}`));
    });
    // The client hung up (or its request broke): stop the pod's work on our side too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
      done();
    });
    req.on("error", () => upstream.destroy());
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
