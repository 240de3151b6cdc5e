// The sandbox tools an agent is given, defined once: name, description, input schema and what
// each does through the SDK. The MCP server and the LangChain and AI SDK adapters only wrap them.
import { z } from "zod";
import type { Sandbox, SandboxClient } from "../client/index.js";
import { fileOutput, listingText, runOutput, sandboxLine, type ToolOutput } from "./content.js";

/** One sandbox tool: its schema checks the input, `run` does the work through the SDK. */
export interface SandboxTool {
  name: string;
  title: string;
  description: string;
  inputSchema: z.ZodObject<z.ZodRawShape>;
  /** Deletes something (agent apps may ask before calling it). */
  destructive: boolean;
  /** Checks `input` against inputSchema, then acts. Throws with a message naming what failed. */
  run(input: unknown): Promise<ToolOutput>;
}

const LANGUAGES = ["python", "javascript", "bash"] as const;
const sandboxId = z.string().min(1).describe("the sandbox's id, as create_sandbox or list_sandboxes gave it");
const namespace = z.string().min(1).optional().describe("Kubernetes namespace (default: the client's)");

const createInput = z.object({
  warm_pool: z.string().min(1).optional().describe("SandboxWarmPool to claim from (give this or template)"),
  template: z.string().min(1).optional().describe("SandboxTemplate whose warm pool to claim from"),
  ttl_seconds: z.number().int().positive().optional().describe("delete the sandbox after this long unused"),
  display_name: z.string().optional(),
  namespace,
});
const runInput = z.object({
  sandbox_id: sandboxId,
  code: z.string().describe("the code to run"),
  language: z.enum(LANGUAGES).default("python"),
  context: z.string().min(1).optional().describe('execution context (default "default"); one per language'),
  timeout_seconds: z.number().positive().max(3600).optional().describe("stop the call after this long (the context restarts)"),
  namespace,
});
const uploadInput = z.object({
  sandbox_id: sandboxId,
  path: z.string().min(1).describe("path relative to /workspace"),
  content: z.string(),
  encoding: z.enum(["utf8", "base64"]).default("utf8"),
  namespace,
});
const downloadInput = z.object({ sandbox_id: sandboxId, path: z.string().min(1).describe("path relative to /workspace"), namespace });
const listFilesInput = z.object({
  sandbox_id: sandboxId,
  path: z.string().default("").describe("directory relative to /workspace"),
  namespace,
});
const listInput = z.object({ namespace });
const deleteInput = z.object({ sandbox_id: sandboxId, namespace });

/** Parses a tool's input, naming the tool and the fields that are wrong. */
function parse<S extends z.ZodType>(tool: string, schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
  throw new Error(`${tool}: invalid input (${problems})`);
}

const text = (t: string): ToolOutput => ({ text: t, images: [] });

/** The seven sandbox tools, acting through `client`. */
export function sandboxTools(client: SandboxClient): SandboxTool[] {
  const open = (id: string, ns: string | undefined): Sandbox => client.connect(id, ns ? { namespace: ns } : {});
  const nsOption = (ns: string | undefined): { namespace?: string } => (ns ? { namespace: ns } : {});
  return [
    {
      name: "create_sandbox",
      title: "Create a sandbox",
      description:
        "Claims an isolated sandbox (gVisor) from a warm pool or a template and waits until it is ready. " +
        "Returns its id for the other tools. Code in it keeps its variables between run_code calls.",
      inputSchema: createInput,
      destructive: false,
      async run(input) {
        const a = parse("create_sandbox", createInput, input);
        if (Boolean(a.warm_pool) === Boolean(a.template)) throw new Error("give exactly one of warm_pool or template");
        const sandbox = await client.createSandbox({
          ...(a.warm_pool ? { warmPool: a.warm_pool } : {}),
          ...(a.template ? { template: a.template } : {}),
          ...(a.ttl_seconds ? { ttlSeconds: a.ttl_seconds } : {}),
          ...(a.display_name ? { displayName: a.display_name } : {}),
          ...nsOption(a.namespace),
        });
        return text(`created sandbox ${sandbox.id}\n${sandboxLine(sandbox.info)}`);
      },
    },
    {
      name: "run_code",
      title: "Run code in a sandbox",
      description:
        "Runs Python, JavaScript or bash in a sandbox's context. Variables, imports and the working " +
        "directory (/workspace) persist between calls in the same context. Returns stdout, stderr, the " +
        "error if the code raised, and rich results (a matplotlib figure comes back as an image).",
      inputSchema: runInput,
      destructive: false,
      async run(input) {
        const a = parse("run_code", runInput, input);
        const result = await open(a.sandbox_id, a.namespace).run(a.code, {
          language: a.language,
          throwOnError: false,
          ...(a.context ? { context: a.context } : {}),
          ...(a.timeout_seconds ? { timeoutMs: Math.round(a.timeout_seconds * 1000) } : {}),
        });
        return runOutput(result);
      },
    },
    {
      name: "upload_file",
      title: "Write a file into a sandbox",
      description:
        "Writes a file under the sandbox's /workspace (parent directories are created). Content is UTF-8 text unless encoding is base64.",
      inputSchema: uploadInput,
      destructive: false,
      async run(input) {
        const a = parse("upload_file", uploadInput, input);
        const bytes = a.encoding === "base64" ? Buffer.from(a.content, "base64") : Buffer.from(a.content, "utf8");
        const written = await open(a.sandbox_id, a.namespace).files.write(a.path, bytes);
        return text(`wrote ${written.path} (${written.size} bytes)`);
      },
    },
    {
      name: "download_file",
      title: "Read a file from a sandbox",
      description: "Reads a file under the sandbox's /workspace: images come back as images, UTF-8 text as text, anything else as base64.",
      inputSchema: downloadInput,
      destructive: false,
      async run(input) {
        const a = parse("download_file", downloadInput, input);
        return fileOutput(a.path, await open(a.sandbox_id, a.namespace).files.read(a.path));
      },
    },
    {
      name: "list_files",
      title: "List a sandbox directory",
      description: "Lists a directory under the sandbox's /workspace (name and size; directories end with /).",
      inputSchema: listFilesInput,
      destructive: false,
      async run(input) {
        const a = parse("list_files", listFilesInput, input);
        return text(listingText(a.path, await open(a.sandbox_id, a.namespace).files.list(a.path)));
      },
    },
    {
      name: "list_sandboxes",
      title: "List sandboxes",
      description: "Lists the sandboxes in a namespace with their state, warm pool and expiry.",
      inputSchema: listInput,
      destructive: false,
      async run(input) {
        const a = parse("list_sandboxes", listInput, input);
        const { sandboxes } = await client.listSandboxes(nsOption(a.namespace));
        return text(sandboxes.length ? sandboxes.map(sandboxLine).join("\n") : "no sandboxes");
      },
    },
    {
      name: "delete_sandbox",
      title: "Delete a sandbox",
      description: "Deletes a sandbox and everything in it.",
      inputSchema: deleteInput,
      destructive: true,
      async run(input) {
        const a = parse("delete_sandbox", deleteInput, input);
        await client.deleteSandbox(a.sandbox_id, nsOption(a.namespace));
        return text(`deleted sandbox ${a.sandbox_id}`);
      },
    },
  ];
}
