import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { RequestAuth } from "./http/auth.js";
import { answerMalformedRequests } from "../shared/http/client-error.js";
import { ExecdError, sendError } from "./http/errors.js";
import type { RouteCall, RouteDeps } from "./routes/context.js";
import { downloadRoute, existsRoute, healthRoute, listRoute, uploadRoute, upstreamExecuteRoute } from "./routes/upstream.js";
import { executeCodeRoute, executeRoute } from "./routes/v1-execute.js";
import {
  createContextRoute,
  deleteContextRoute,
  getContextRoute,
  interruptContextRoute,
  listContextsRoute,
  restartContextRoute,
} from "./routes/v1-contexts.js";
import { deleteFileRoute, getFileRoute, putFileRoute } from "./routes/v1-files.js";
import { putEnvRoute } from "./routes/v1-env.js";
import { statusRoute } from "./routes/v1-status.js";

type Handler = (deps: RouteDeps, call: RouteCall) => Promise<void>;

interface Route {
  method: string;
  /** Exact path, or a prefix ending in "/" whose remainder becomes `rest`. */
  path: string;
  prefix: boolean;
  /** For context routes: the suffix after `{id}` (e.g. "/restart"). */
  suffix?: string;
  handler: Handler;
  public?: boolean;
  /** Routes that set the environment take the operator's tokens instead of the router's. */
  env?: boolean;
}

const ROUTES: Route[] = [
  { method: "GET", path: "/", prefix: false, handler: healthRoute, public: true },
  { method: "GET", path: "/healthz", prefix: false, handler: healthRoute, public: true },
  { method: "POST", path: "/execute", prefix: false, handler: upstreamExecuteRoute },
  { method: "POST", path: "/upload", prefix: false, handler: uploadRoute },
  { method: "GET", path: "/download/", prefix: true, handler: downloadRoute },
  { method: "GET", path: "/list/", prefix: true, handler: listRoute },
  { method: "GET", path: "/list", prefix: false, handler: listRoute },
  { method: "GET", path: "/exists/", prefix: true, handler: existsRoute },
  { method: "GET", path: "/v1/status", prefix: false, handler: statusRoute },
  { method: "PUT", path: "/v1/env", prefix: false, handler: putEnvRoute, env: true },
  { method: "POST", path: "/v1/execute", prefix: false, handler: executeRoute },
  { method: "POST", path: "/v1/executeCode", prefix: false, handler: executeCodeRoute },
  { method: "POST", path: "/v1/contexts", prefix: false, handler: createContextRoute },
  { method: "GET", path: "/v1/contexts", prefix: false, handler: listContextsRoute },
  { method: "POST", path: "/v1/contexts/", prefix: true, suffix: "/restart", handler: restartContextRoute },
  { method: "POST", path: "/v1/contexts/", prefix: true, suffix: "/interrupt", handler: interruptContextRoute },
  { method: "GET", path: "/v1/contexts/", prefix: true, handler: getContextRoute },
  { method: "DELETE", path: "/v1/contexts/", prefix: true, handler: deleteContextRoute },
  { method: "GET", path: "/v1/files/", prefix: true, handler: getFileRoute },
  { method: "GET", path: "/v1/files", prefix: false, handler: getFileRoute },
  { method: "PUT", path: "/v1/files/", prefix: true, handler: putFileRoute },
  { method: "DELETE", path: "/v1/files/", prefix: true, handler: deleteFileRoute },
];

interface Match {
  route: Route;
  rest: string;
}

/**
 * Matches on the raw request path. It is deliberately not normalised (no URL parser
 * folding `a/../b`), so a `..` sent by a client reaches the workspace check and is refused
 * rather than silently rewritten.
 */
function match(method: string, rawPath: string): Match | "method" | null {
  let pathMatched = false;
  for (const route of ROUTES) {
    let rest: string;
    if (route.prefix) {
      if (!rawPath.startsWith(route.path)) continue;
      rest = rawPath.slice(route.path.length);
      if (route.suffix) {
        if (!rest.endsWith(route.suffix)) continue;
        rest = rest.slice(0, -route.suffix.length);
      } else if (route.path === "/v1/contexts/" && rest.includes("/")) continue;
    } else {
      if (rawPath !== route.path) continue;
      rest = "";
    }
    pathMatched = true;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, rest };
  }
  return pathMatched ? "method" : null;
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ExecdError(400, "bad_request", `path is not valid percent-encoding: ${raw}`);
  }
}

/** Maps filesystem errors that reach the top to statuses a client can act on. */
function toExecdError(error: unknown): ExecdError {
  if (error instanceof ExecdError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message ?? String(error);
  switch (code) {
    case "ENOENT":
      return new ExecdError(404, "not_found", message);
    case "EISDIR":
    case "ENOTDIR":
    case "EEXIST":
    case "ENOTEMPTY":
      return new ExecdError(409, "conflict", message);
    case "EACCES":
    case "EPERM":
      return new ExecdError(403, "permission_denied", message);
    case "ELOOP":
      return new ExecdError(403, "path_forbidden", `path goes through a symlink loop: ${message}`);
    case "ENAMETOOLONG":
      return new ExecdError(400, "name_too_long", message);
    case "ENOSPC":
      return new ExecdError(507, "no_space", message);
    default:
      return new ExecdError(500, "internal", message);
  }
}

/** How long a refused request's body may keep arriving before the answer is sent anyway. */
const DRAIN_MS = 10_000;
/** A refused request that sends nothing for this long (a lying Content-Length) is answered. */
const DRAIN_IDLE_MS = 1_000;

/**
 * Reads and discards what is left of a refused request's body before the answer is sent.
 * Closing a connection while the client is still sending (a 413 on a 10 MB body) makes the
 * kernel reset it, and the client never reads the answer.
 */
function drainRest(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(cutOff);
      clearTimeout(idle);
      req.off("data", onData);
      resolve();
    };
    const cutOff = setTimeout(done, DRAIN_MS);
    const idle = setTimeout(done, DRAIN_IDLE_MS);
    const onData = (): void => {
      idle.refresh();
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("close", done);
    req.once("error", done);
    req.resume();
  });
}

export function createExecdServer(deps: RouteDeps, auth: RequestAuth): Server {
  const log: Logger = deps.logger;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const rawPath = queryAt >= 0 ? raw.slice(0, queryAt) : raw;
    const query = new URLSearchParams(queryAt >= 0 ? raw.slice(queryAt + 1) : "");
    const found = match(req.method ?? "GET", rawPath);
    if (found === null) throw new ExecdError(404, "not_found", `no route for ${rawPath}`);
    if (found === "method") throw new ExecdError(405, "method_not_allowed", `${req.method} is not allowed on ${rawPath}`);
    const allowed = found.route.public || (await (found.route.env ? auth.allowsEnv(req) : auth.allows(req)));
    if (!allowed) {
      throw new ExecdError(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)");
    }
    await found.route.handler(deps, { req, res, rest: decodePath(found.rest), query });
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    handle(req, res)
      .catch((error: unknown) => {
        const failure = toExecdError(error);
        if (failure.status >= 500) log.error({ err: error, url: req.url }, "request failed");
        else log.info({ url: req.url, status: failure.status, code: failure.code, reason: failure.message }, "request refused");
        if (res.headersSent) {
          // Mid-stream failure: the body cannot be repaired, so cut the connection.
          res.destroy(failure);
          return;
        }
        return drainRest(req).then(() => {
          res.setHeader("connection", "close");
          sendError(res, failure);
        });
      })
      .finally(() => {
        log.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Math.round(performance.now() - started) }, "request");
      });
  });
  answerMalformedRequests(server);
  return server;
}
