// The router's HTTP front: upstream's header contract, path routing, the management API, health.
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { answerMalformedRequests } from "../shared/http/client-error.js";
import type { RouterDeps } from "./deps.js";
import { isConsolePath, serveConsole } from "./console-route.js";
import { RouterError, sendError, sendJson } from "./errors.js";
import { handleManagement } from "./management-api.js";
import { fromHeaders, fromPath, proxyTo } from "./proxy-route.js";

type Handler = "proxy" | "management" | "health" | "console";

const UPSTREAM_FAILURES = new Set(["bad_gateway", "upstream_unavailable", "upstream_timeout", "upstream_auth", "sandbox_lost"]);

export interface RouterServerOptions {
  /** True once the caches have synced (readiness). */
  isReady: () => boolean;
}

export function createRouterServer(deps: RouterDeps, opts: RouterServerOptions): Server {
  const server = http.createServer((req, res) => void handle(deps, opts, req, res));
  // Executions and large uploads can legitimately take longer than node's 5 min default.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  // Requests node's parser refuses (huge headers, bad bytes) and CONNECT get JSON errors too.
  answerMalformedRequests(server);
  server.on("upgrade", (_req, socket) => {
    socket.end(
      "HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" +
        JSON.stringify({ error: { code: "not_implemented", message: "WebSocket upgrades are not proxied" } }),
    );
  });
  return server;
}

function classify(req: IncomingMessage, pathname: string): Handler {
  if (req.headers["x-sandbox-id"] !== undefined) return "proxy";
  if (pathname.startsWith("/sandboxes/")) return "proxy";
  if (pathname === "/healthz" || pathname === "/readyz") return "health";
  if (isConsolePath(pathname)) return "console";
  return "management";
}

async function handle(deps: RouterDeps, opts: RouterServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://router.invalid");
  } catch {
    sendJson(res, 400, { error: { code: "bad_request", message: "unparseable request URL" } });
    return;
  }
  const handler = classify(req, url.pathname);
  const { metrics } = deps;
  metrics.inflight.inc({ handler });
  res.once("close", () => metrics.inflight.dec({ handler }));
  const observeHead = (): void => {
    metrics.requestSeconds.observe({ handler }, (performance.now() - started) / 1000);
  };
  const writeHead = res.writeHead.bind(res);
  res.writeHead = ((...args: Parameters<ServerResponse["writeHead"]>) => {
    observeHead();
    metrics.requests.inc({ handler, code: String(args[0]) });
    return writeHead(...args);
  }) as ServerResponse["writeHead"];
  try {
    if (handler !== "health" && handler !== "console" && !opts.isReady()) {
      throw new RouterError(503, "starting", "the router is still loading its caches", { "retry-after": "1" });
    }
    switch (handler) {
      case "proxy":
        await proxyTo(
          deps,
          req,
          res,
          req.headers["x-sandbox-id"] !== undefined
            ? fromHeaders(req, { namespace: deps.config.defaultNamespace, port: deps.config.execPort })
            : fromPath(req, { port: deps.config.execPort }),
        );
        return;
      case "health":
        if (req.method !== "GET" && req.method !== "HEAD")
          throw new RouterError(405, "method_not_allowed", `${req.method ?? ""} is not allowed on ${url.pathname}; use GET`);
        if (url.pathname === "/readyz" && !opts.isReady()) sendJson(res, 503, { status: "caches not synced" });
        else sendJson(res, 200, { status: "ok" });
        return;
      case "console":
        await serveConsole(deps.config.consoleDir, req, res, url);
        return;
      case "management":
        if (!(await handleManagement(deps, { req, res, url }))) {
          throw new RouterError(
            404,
            "not_found",
            `no route for ${req.method ?? "GET"} ${url.pathname}; use X-Sandbox-ID headers, /sandboxes/{namespace}/{name}/..., or /v1/sandboxes`,
          );
        }
        return;
    }
  } catch (err) {
    if (err instanceof RouterError) {
      if (UPSTREAM_FAILURES.has(err.code)) metrics.upstreamErrors.inc({ reason: err.code });
      if (err.status >= 500) deps.logger.warn({ method: req.method, url: req.url, code: err.code, msg2: err.message }, "Request failed");
      sendError(res, err);
      return;
    }
    deps.logger.error({ err, method: req.method, url: req.url }, "Unexpected error while handling a request");
    sendError(res, new RouterError(500, "internal", `internal error: ${(err as Error).message}`));
  } finally {
    // Drain whatever the client still sends so the connection can be reused.
    if (!req.complete) req.resume();
  }
}
