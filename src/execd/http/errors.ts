import type { ServerResponse } from "node:http";

/** An error with an HTTP status and a stable machine-readable code, sent as JSON. */
export class ExecdError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ExecdError";
  }
}

export const badRequest = (message: string): ExecdError => new ExecdError(400, "bad_request", message);
export const forbiddenPath = (message: string): ExecdError => new ExecdError(403, "path_forbidden", message);
export const notFound = (message: string): ExecdError => new ExecdError(404, "not_found", message);
export const tooLarge = (message: string): ExecdError => new ExecdError(413, "payload_too_large", message);

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: ExecdError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}
