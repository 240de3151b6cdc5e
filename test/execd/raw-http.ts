// A byte-exact HTTP/1.1 client for adversarial tests. fetch and http.request normalise or
// refuse exactly what these tests need to send (dot segments, %2e%2e, raw NUL, odd methods,
// oversized headers, lying framing), so requests are written to a socket as given.
import net from "node:net";

export interface RawResponse {
  /** 0 when the server closed the connection without a status line. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The first line and headers exactly as received. */
  head: string;
}

export interface RawRequest {
  method: string;
  /** Request target, sent verbatim (no encoding or normalisation). */
  target: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  /** Send Content-Length for the body (default true when there is a body). */
  contentLength?: boolean;
}

/** Serialises a request; header names and values are sent as latin1 bytes, as given. */
export function serialize(req: RawRequest): Buffer {
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "utf8");
  const lines = [`${req.method} ${req.target} HTTP/1.1`, "Host: fuzz.invalid", "Connection: close"];
  for (const [name, value] of req.headers ?? []) lines.push(`${name}: ${value}`);
  if (body && req.contentLength !== false) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return body ? Buffer.concat([head, body]) : head;
}

/**
 * Sends `data` (a whole serialised request) and reads until the server closes the
 * connection. Resets after the head count as an answer; a socket that never answers fails
 * after `timeoutMs`.
 */
export function rawExchange(port: number, data: Buffer, timeoutMs = 20_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(data.subarray(0, 200).toString("latin1"))}`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    // The server may answer (e.g. 413) and close before it has read the whole request.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks)));
    });
    // No half-close: node's server drops a connection whose client ended before the answer.
    // "Connection: close" makes the server close it once it has answered.
    socket.write(data);
  });
}

export const rawRequest = (port: number, req: RawRequest, timeoutMs?: number): Promise<RawResponse> =>
  rawExchange(port, serialize(req), timeoutMs);

export function parseResponse(raw: Buffer): RawResponse {
  // Interim answers (100 Continue) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 16).toString("latin1"))) {
    const interimEnd = raw.indexOf("\r\n\r\n");
    if (interimEnd < 0) break;
    raw = raw.subarray(interimEnd + 4);
  }
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0), head: raw.toString("latin1") };
  const head = raw.subarray(0, end).toString("latin1");
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") body = dechunk(body);
  return { status, headers, body, head };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** The JSON body of a response, or undefined if it is not JSON. */
export function jsonOf(res: RawResponse): unknown {
  try {
    return JSON.parse(res.body.toString("utf8"));
  } catch {
    return undefined;
  }
}
