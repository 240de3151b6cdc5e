import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { SandboxClient } from "../client/index.js";
import { createSandboxMcpServer } from "./server.js";

/** Serves one MCP session on stdin/stdout; resolves when the client closes it. */
export async function serveMcpStdio(client: SandboxClient, version: string): Promise<void> {
  const server = createSandboxMcpServer(client, { version });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  process.stdin.once("end", () => void server.close());
  await server.connect(transport);
  await closed;
}
