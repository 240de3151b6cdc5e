// The MCP server: sandbox tools for agents (create, run code, files, list, delete), each a thin
// call into the SDK, which authenticates to the router (or Kubernetes) as sandboxctl does.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Sandbox, SandboxClient } from "../client/index.js";
import { fileContent, listingText, runContent, sandboxLine, type ToolContent } from "./content.js";

/** What a tool returns: MCP content, flagged as an error when the call failed. */
interface ToolAnswer {
  [key: string]: unknown;
  content: ToolContent[];
  isError?: boolean;
}

const sandboxId = z.string().min(1).describe("the sandbox's id, as create_sandbox or list_sandboxes gave it");
const namespace = z.string().min(1).optional().describe("Kubernetes namespace (default: the client's)");
const languages = ["python", "javascript", "bash"] as const;

/** Runs a tool body and turns a thrown error into an MCP error result that names what failed. */
async function answer(what: string, body: () => Promise<ToolContent[]>): Promise<ToolAnswer> {
  try {
    return { content: await body() };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { content: [{ type: "text", text: `${what} failed: ${message}` }], isError: true };
  }
}

/**
 * An MCP server whose tools act through `client`. One server serves one MCP session (stdio) or
 * one request (stateless streamable HTTP); the client may be shared.
 */
export function createSandboxMcpServer(client: SandboxClient, opts: { version: string }): McpServer {
  const server = new McpServer({ name: "agent-sandbox", version: opts.version });
  const open = (id: string, ns: string | undefined): Sandbox => client.connect(id, ns ? { namespace: ns } : {});

  server.registerTool(
    "create_sandbox",
    {
      title: "Create a sandbox",
      description:
        "Claims an isolated sandbox (gVisor) from a warm pool or a template and waits until it is ready. " +
        "Returns its id for the other tools. Code in it keeps its variables between run_code calls.",
      inputSchema: {
        warm_pool: z.string().min(1).optional().describe("SandboxWarmPool to claim from (give this or template)"),
        template: z.string().min(1).optional().describe("SandboxTemplate whose warm pool to claim from"),
        ttl_seconds: z.number().int().positive().optional().describe("delete the sandbox after this long unused"),
        display_name: z.string().optional(),
        namespace,
      },
    },
    ({ warm_pool, template, ttl_seconds, display_name, namespace: ns }) =>
      answer("create_sandbox", async () => {
        if (Boolean(warm_pool) === Boolean(template)) throw new Error("give exactly one of warm_pool or template");
        const sandbox = await client.createSandbox({
          ...(warm_pool ? { warmPool: warm_pool } : {}),
          ...(template ? { template } : {}),
          ...(ttl_seconds ? { ttlSeconds: ttl_seconds } : {}),
          ...(display_name ? { displayName: display_name } : {}),
          ...(ns ? { namespace: ns } : {}),
        });
        return [{ type: "text", text: `created sandbox ${sandbox.id}\n${sandboxLine(sandbox.info)}` }];
      }),
  );

  server.registerTool(
    "run_code",
    {
      title: "Run code in a sandbox",
      description:
        "Runs Python, JavaScript or bash in a sandbox's context. Variables, imports and the working " +
        "directory (/workspace) persist between calls in the same context. Returns stdout, stderr, the " +
        "error if the code raised, and rich results (a matplotlib figure comes back as an image).",
      inputSchema: {
        sandbox_id: sandboxId,
        code: z.string().describe("the code to run"),
        language: z.enum(languages).default("python"),
        context: z.string().min(1).optional().describe('execution context (default "default"); one per language'),
        timeout_seconds: z.number().positive().max(3600).optional().describe("stop the call after this long (the context restarts)"),
        namespace,
      },
    },
    ({ sandbox_id, code, language, context, timeout_seconds, namespace: ns }) =>
      answer("run_code", async () => {
        const result = await open(sandbox_id, ns).run(code, {
          language,
          throwOnError: false,
          ...(context ? { context } : {}),
          ...(timeout_seconds ? { timeoutMs: Math.round(timeout_seconds * 1000) } : {}),
        });
        return runContent(result);
      }),
  );

  server.registerTool(
    "upload_file",
    {
      title: "Write a file into a sandbox",
      description:
        "Writes a file under the sandbox's /workspace (parent directories are created). Content is UTF-8 text unless encoding is base64.",
      inputSchema: {
        sandbox_id: sandboxId,
        path: z.string().min(1).describe("path relative to /workspace"),
        content: z.string(),
        encoding: z.enum(["utf8", "base64"]).default("utf8"),
        namespace,
      },
    },
    ({ sandbox_id, path, content, encoding, namespace: ns }) =>
      answer("upload_file", async () => {
        const bytes = encoding === "base64" ? Buffer.from(content, "base64") : Buffer.from(content, "utf8");
        const written = await open(sandbox_id, ns).files.write(path, bytes);
        return [{ type: "text", text: `wrote ${written.path} (${written.size} bytes)` }];
      }),
  );

  server.registerTool(
    "download_file",
    {
      title: "Read a file from a sandbox",
      description: "Reads a file under the sandbox's /workspace: images come back as images, UTF-8 text as text, anything else as base64.",
      inputSchema: { sandbox_id: sandboxId, path: z.string().min(1).describe("path relative to /workspace"), namespace },
    },
    ({ sandbox_id, path, namespace: ns }) =>
      answer("download_file", async () => fileContent(path, await open(sandbox_id, ns).files.read(path))),
  );

  server.registerTool(
    "list_files",
    {
      title: "List a sandbox directory",
      description: "Lists a directory under the sandbox's /workspace (name and size; directories end with /).",
      inputSchema: { sandbox_id: sandboxId, path: z.string().default("").describe("directory relative to /workspace"), namespace },
    },
    ({ sandbox_id, path, namespace: ns }) =>
      answer("list_files", async () => [{ type: "text", text: listingText(path, await open(sandbox_id, ns).files.list(path)) }]),
  );

  server.registerTool(
    "list_sandboxes",
    {
      title: "List sandboxes",
      description: "Lists the sandboxes in a namespace with their state, warm pool and expiry.",
      inputSchema: { namespace },
    },
    ({ namespace: ns }) =>
      answer("list_sandboxes", async () => {
        const { sandboxes } = await client.listSandboxes(ns ? { namespace: ns } : {});
        return [{ type: "text", text: sandboxes.length ? sandboxes.map(sandboxLine).join("\n") : "no sandboxes" }];
      }),
  );

  server.registerTool(
    "delete_sandbox",
    {
      title: "Delete a sandbox",
      description: "Deletes a sandbox and everything in it.",
      inputSchema: { sandbox_id: sandboxId, namespace },
      annotations: { destructiveHint: true },
    },
    ({ sandbox_id, namespace: ns }) =>
      answer("delete_sandbox", async () => {
        await client.deleteSandbox(sandbox_id, ns ? { namespace: ns } : {});
        return [{ type: "text", text: `deleted sandbox ${sandbox_id}` }];
      }),
  );

  return server;
}
