// The sandbox tools as LangChain.js tools (package subpath "agent-sandbox-ts/langchain"; needs
// @langchain/core). Each returns its text to the model and its images as the tool's artifact.
import { tool, type StructuredToolInterface } from "@langchain/core/tools";
import type { SandboxClient } from "../client/index.js";
import type { ToolImage } from "../tools/content.js";
import { sandboxTools } from "../tools/sandbox-tools.js";

/** What a LangChain sandbox tool returns: text for the model, images as the artifact. */
export type LangChainToolResult = [string, { images: ToolImage[] }];

/**
 * create_sandbox, run_code, upload_file, download_file, list_files, list_sandboxes and
 * delete_sandbox as LangChain structured tools acting through `client`. A failed call returns
 * its error as text ("run_code failed: ..."), so the model can read it and try again.
 */
export function langchainSandboxTools(client: SandboxClient): StructuredToolInterface[] {
  return sandboxTools(client).map((t) =>
    tool(
      async (input: unknown): Promise<LangChainToolResult> => {
        try {
          const out = await t.run(input);
          return [out.text, { images: out.images }];
        } catch (err) {
          return [`${t.name} failed: ${err instanceof Error ? err.message : String(err)}`, { images: [] }];
        }
      },
      { name: t.name, description: t.description, schema: t.inputSchema, responseFormat: "content_and_artifact" },
    ),
  );
}
