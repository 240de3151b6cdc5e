import type { ServerResponse } from "node:http";

/**
 * An error with an HTTP status and a stable machine-readable code, answered as JSON. `reason`,
 * when given, is the sandbox's status reason behind the error (e.g. its Ready condition's).
 */
export class RouterError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly reason?: string,
  ) {
    super(message);
    this.name = "RouterError";
  }
}

export const badRequest = (message: string): RouterError => new RouterError(400, "bad_request", message);
export const unauthenticated = (message: string): RouterError =>
  new RouterError(401, "unauthenticated", message, { "www-authenticate": 'Bearer realm="sandbox-router"' });
export const forbidden = (message: string): RouterError => new RouterError(403, "forbidden", message);
export const notFound = (message: string): RouterError => new RouterError(404, "not_found", message);

/** 503 for a sandbox that cannot serve the call, naming the status reason behind it. */
export function unavailable(code: string, reason: string, message: string, retryAfterSeconds: number): RouterError {
  return new RouterError(503, code, `${message} (${reason})`, { "retry-after": String(retryAfterSeconds) }, reason);
}

/** decodeURIComponent for one path segment; bad percent-encoding is the caller's 400, not a 500. */
export function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badRequest(`path segment "${text}" is not valid percent-encoding (UTF-8 bytes as %XX)`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: RouterError): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  sendJson(
    res,
    error.status,
    { error: { code: error.code, message: error.message, ...(error.reason ? { reason: error.reason } : {}) } },
    error.headers,
  );
}
