// The adapters' shape: the same seven tools, schemas that reach the frameworks, errors returned
// as text the model can read. Calls go to a port where nothing listens (refused at once).
import { describe, expect, it } from "vitest";
import { aiModelOutput, aiSandboxTools } from "../../../src/adapters/ai-sdk.js";
import { langchainSandboxTools } from "../../../src/adapters/langchain.js";
import { SandboxClient } from "../../../src/index.js";
import type { ToolOutput } from "../../../src/tools/content.js";

const NAMES = ["create_sandbox", "delete_sandbox", "download_file", "list_files", "list_sandboxes", "run_code", "upload_file"];
const nowhere = (): SandboxClient => new SandboxClient({ routerUrl: "http://127.0.0.1:1", token: "t", namespace: "ns" });

describe("AI SDK tools", () => {
  it("are the seven sandbox tools", () => {
    expect(Object.keys(aiSandboxTools(nowhere())).sort()).toEqual(NAMES);
  });

  it("return a bad input and a failed call as text naming the tool and what failed", async () => {
    const run = aiSandboxTools(nowhere())["run_code"]?.execute;
    const options = { toolCallId: "1", messages: [], context: {} };
    const bad = (await run?.({ sandbox_id: "sbx-1" }, options)) as ToolOutput;
    expect(bad.text).toMatch(/^run_code failed: run_code: invalid input \(code: /);
    const refused = (await run?.({ sandbox_id: "sbx-1", code: "1" }, options)) as ToolOutput;
    expect(refused.text).toMatch(/^run_code failed: /);
    expect(refused.images).toEqual([]);
  });

  it("hand images to the model as image content", () => {
    expect(aiModelOutput({ text: "ok", images: [{ mimeType: "image/png", data: "AAAA" }] })).toEqual({
      type: "content",
      value: [
        { type: "text", text: "ok" },
        { type: "image-data", data: "AAAA", mediaType: "image/png" },
      ],
    });
  });
});

describe("LangChain tools", () => {
  it("are the seven sandbox tools, with their input schemas", () => {
    const tools = langchainSandboxTools(nowhere());
    expect(tools.map((t) => t.name).sort()).toEqual(NAMES);
    expect(tools.find((t) => t.name === "run_code")?.description).toContain("Python, JavaScript or bash");
  });

  it("answer a tool call with a ToolMessage whose text names what failed, and an artifact", async () => {
    const run = langchainSandboxTools(nowhere()).find((t) => t.name === "run_code");
    const message = (await run?.invoke({ type: "tool_call", id: "c1", name: "run_code", args: { sandbox_id: "sbx-1", code: "1" } })) as {
      content: unknown;
      artifact: unknown;
      tool_call_id: string;
    };
    expect(message.tool_call_id).toBe("c1");
    expect(String(message.content)).toMatch(/^run_code failed: /);
    expect(message.artifact).toEqual({ images: [] });
  });
});
