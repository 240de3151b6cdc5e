// The MCP server over streamable HTTP, stateless: every POST carries the caller's bearer token,
// which the tools present to the router, so each MCP client acts as its own identity and this
// process holds no credential of its own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SandboxClient } from "../client/index.js";
import { bearerToken } from "../shared/http/bearer.js";
import { createSandboxMcpServer } from "./server.js";

/** The path MCP clients post to. */
export const MCP_PATH = "/mcp";

export interface McpHttpOptions {
  host: string;
  port: number;
  /** The router every request's tools call, with that request's bearer token. */
  routerUrl: string;
  namespace?: string | undefined;
  version: string;
}

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}

async function serve(req: IncomingMessage, res: ServerResponse, o: McpHttpOptions): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname !== MCP_PATH) return refuse(res, 404, `no such path ${url.pathname}; MCP clients post to ${MCP_PATH}`);
  if (req.method !== "POST") return refuse(res, 405, "this server is stateless: POST only", { allow: "POST" });
  const token = bearerToken(req.headers.authorization);
  if (!token) {
    return refuse(res, 401, "a bearer token is required: the router's token for the caller (a Kubernetes or sandbox token)", {
      "www-authenticate": 'Bearer realm="agent-sandbox"',
    });
  }
  const client = new SandboxClient({ routerUrl: o.routerUrl, token, namespace: o.namespace });
  const server = createSandboxMcpServer(client, { version: o.version });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

/** Starts the HTTP server; resolves once it listens. */
export async function startMcpHttp(o: McpHttpOptions): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    serve(req, res, o).catch((err: unknown) => {
      if (!res.headersSent) refuse(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return { server, address: server.address() as AddressInfo };
}
