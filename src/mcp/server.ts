// The MCP server: the sandbox tools (src/tools) registered with the official MCP SDK. Each tool
// calls the SDK, which authenticates to the router (or Kubernetes) as sandboxctl does.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { SandboxClient } from "../client/index.js";
import { sandboxTools, type SandboxTool } from "../tools/sandbox-tools.js";
import type { ToolOutput } from "../tools/content.js";

/** One block of an MCP tool result: text, or an image the client can show. */
type McpContent = { type: "text"; text: string } | { type: "image"; data: string; mimeType: string };

/** An MCP tool result, flagged as an error when the call failed. */
interface McpToolResult {
  [key: string]: unknown;
  content: McpContent[];
  isError?: boolean;
}

/** A tool's output as MCP content: the text block, then each image. Pure. */
export function mcpContent(output: ToolOutput): McpContent[] {
  return [
    { type: "text", text: output.text },
    ...output.images.map((i) => ({ type: "image" as const, data: i.data, mimeType: i.mimeType })),
  ];
}

/** Runs a tool and turns a thrown error into an MCP error result that names what failed. */
async function call(tool: SandboxTool, input: unknown): Promise<McpToolResult> {
  try {
    return { content: mcpContent(await tool.run(input)) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { content: [{ type: "text", text: `${tool.name} failed: ${message}` }], isError: true };
  }
}

/**
 * An MCP server whose tools act through `client`. One server serves one MCP session (stdio) or
 * one request (stateless streamable HTTP); the client may be shared.
 */
export function createSandboxMcpServer(client: SandboxClient, opts: { version: string }): McpServer {
  const server = new McpServer({ name: "agent-sandbox", version: opts.version });
  for (const tool of sandboxTools(client)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema.shape,
        ...(tool.destructive ? { annotations: { destructiveHint: true } } : {}),
      },
      (input: unknown) => call(tool, input),
    );
  }
  return server;
}
