// The sandbox tools as Vercel AI SDK tools (package subpath "agent-sandbox-ts/ai"; needs ai).
// Each tool's output is its text and images; toModelOutput hands the images to the model as
// image content, so a model that sees images sees the figure a run drew.
import { tool, type ToolSet } from "ai";
import type { SandboxClient } from "../client/index.js";
import type { ToolOutput } from "../tools/content.js";
import { sandboxTools } from "../tools/sandbox-tools.js";

/** A tool's output as the model sees it: the text, then each image. Pure. */
export function aiModelOutput(output: ToolOutput) {
  return {
    type: "content" as const,
    value: [
      { type: "text" as const, text: output.text },
      ...output.images.map((i) => ({ type: "image-data" as const, data: i.data, mediaType: i.mimeType })),
    ],
  };
}

/**
 * create_sandbox, run_code, upload_file, download_file, list_files, list_sandboxes and
 * delete_sandbox as an AI SDK tool set acting through `client`, for generateText/streamText's
 * `tools`. A failed call returns its error as text ("run_code failed: ..."), so the model can
 * read it and try again.
 */
export function aiSandboxTools(client: SandboxClient): ToolSet {
  const set: ToolSet = {};
  for (const t of sandboxTools(client)) {
    set[t.name] = tool({
      description: t.description,
      inputSchema: t.inputSchema,
      execute: async (input): Promise<ToolOutput> => {
        try {
          return await t.run(input);
        } catch (err) {
          return { text: `${t.name} failed: ${err instanceof Error ? err.message : String(err)}`, images: [] };
        }
      },
      toModelOutput: ({ output }) => aiModelOutput(output),
    });
  }
  return set;
}
