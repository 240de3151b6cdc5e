// Requests node's HTTP parser refuses never reach a handler. Node's own answer to them is a
// bare status line, or for CONNECT a dropped connection; these give the client the same JSON
// error body every other refusal has, naming what was wrong. The execution server and the
// router both use them.
import { STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";

/** What the parser's error codes mean to a client (llhttp's HPE_* and node's own). */
const REASONS: Record<string, [status: number, code: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, "headers_too_large", "the request line and headers exceed the server's limit (16 KiB)"],
  HPE_INVALID_METHOD: [400, "bad_method", "the HTTP method is not one the server knows"],
  HPE_INVALID_URL: [
    400,
    "bad_target",
    "the request target contains characters HTTP does not allow (spaces, control characters, raw non-ASCII)",
  ],
  HPE_INVALID_VERSION: [400, "bad_request_line", "the request line is not 'METHOD target HTTP/1.x'"],
  HPE_INVALID_CONSTANT: [400, "bad_request_line", "the request line is not 'METHOD target HTTP/1.x'"],
  HPE_INVALID_HEADER_TOKEN: [400, "bad_header", "a header name or value contains a character HTTP does not allow"],
  HPE_INVALID_CONTENT_LENGTH: [400, "bad_content_length", "Content-Length is not a single non-negative number"],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, "bad_framing", "Content-Length was sent twice, or together with Transfer-Encoding"],
  HPE_INVALID_TRANSFER_ENCODING: [400, "bad_framing", "Transfer-Encoding must end with chunked"],
  HPE_INVALID_CHUNK_SIZE: [400, "bad_framing", "the chunked body has an invalid chunk size"],
  HPE_CR_EXPECTED: [400, "bad_framing", "a line of the request does not end with CRLF"],
  HPE_LF_EXPECTED: [400, "bad_framing", "a line of the request does not end with CRLF"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "request_timeout", "the request did not arrive in time"],
  HPE_HEADERS_TIMEOUT: [408, "request_timeout", "the request headers did not arrive in time"],
};

/** The raw HTTP/1.1 answer (head and JSON body) for an error, ready to write to a socket. */
export function rawJsonError(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** The answer to a parser error, or null when there is nobody left to answer. */
export function clientErrorAnswer(error: NodeJS.ErrnoException): string | null {
  const code = error.code ?? "";
  if (code === "ECONNRESET" || code === "EPIPE") return null;
  const [status, reason, message] = REASONS[code] ?? [400, "bad_request", `malformed HTTP request (${code || error.message})`];
  return rawJsonError(status, reason, message);
}

/** The part of a socket node's server leaves on it while a response is in progress. */
interface SocketWithResponse {
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * Answers parser errors and CONNECT with JSON. A socket whose response has already started
 * (a parse error in a body being streamed) cannot take a second answer and is destroyed.
 */
export function answerMalformedRequests(server: Server): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const answer = clientErrorAnswer(error);
    const busy = (socket as Duplex & SocketWithResponse)._httpMessage?.headersSent === true;
    if (answer === null || busy || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(answer);
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", () => undefined);
    socket.end(rawJsonError(405, "method_not_allowed", "CONNECT is not supported: this server is not a proxy"));
  });
}
