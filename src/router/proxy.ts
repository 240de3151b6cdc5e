// Streams one request to a sandbox's pod and its response back, chunk by chunk (NDJSON events
// reach the client as the execution server writes them). Nothing is buffered here.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { RouterError } from "./errors.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1) never cross a proxy. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"]);

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
  /** Called once with the upstream status (before the body streams). */
  onResponse?: (status: number) => void;
  /** Replace a response before it is relayed (the router maps the pod's 401 to 502). */
  mapStatus?: (status: number) => RouterError | undefined;
}

/**
 * Forwards `req` to `target`. Resolves when the response has been fully relayed or either side
 * went away; failures before the response head become RouterErrors (502/503/504).
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: UpstreamTarget, opts: ForwardOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (err?: RouterError): void => {
      if (settled) return;
      settled = true;
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
    upstream.setTimeout(opts.idleTimeoutMs, () => upstream.destroy(new RouterError(504, "upstream_timeout", `the sandbox sent nothing for ${opts.idleTimeoutMs} ms`)));
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
      if (err.code === "ECONNREFUSED" || err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH") {
        return done(new RouterError(503, "upstream_unavailable", `the sandbox at ${target.host}:${target.port} refused the connection (${err.code}); it may still be starting`, { "retry-after": "1" }));
      }
      done(new RouterError(502, "bad_gateway", `the sandbox connection failed: ${err.message}`));
    });
    // The client hung up (or its request broke): stop the pod's work on our side too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
      done();
    });
    req.on("error", () => upstream.destroy());
    req.pipe(upstream);
  });
}
