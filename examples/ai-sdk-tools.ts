// The sandbox tools as a Vercel AI SDK tool set, called here by the example itself in the order a
// model would call them, so it runs without a model or an API key.
//
//   export SANDBOX_ROUTER_URL=http://<router>:8080 SANDBOX_TOKEN=$(kubectl create token agent)
//   npx tsx examples/ai-sdk-tools.ts <namespace> <warm-pool>
//
// In your project: import { aiSandboxTools } from "agent-sandbox-ts/ai". To give the tools to a
// model: `generateText({ model, tools: aiSandboxTools(client), stopWhen: stepCountIs(10), prompt })`;
// the model then picks the calls this file makes by hand, and sees figures as images.
import { aiSandboxTools } from "../src/adapters/ai-sdk.js";
import { SandboxClient } from "../src/index.js";
import type { ToolOutput } from "../src/tools/content.js";

const [namespace = "default", warmPool = "python-pool"] = process.argv.slice(2);
const client = new SandboxClient({ namespace });
const tools = aiSandboxTools(client);

let step = 0;
/** Calls a tool as generateText does once the model asked for it. */
async function call(name: string, input: Record<string, unknown>): Promise<ToolOutput> {
  const execute = tools[name]?.execute;
  if (!execute) throw new Error(`no tool ${name}`);
  const output = (await execute(input, { toolCallId: `call-${++step}`, messages: [], context: {} })) as ToolOutput;
  console.log(`[${name}] ${output.text.split("\n")[0]}`);
  return output;
}

const created = await call("create_sandbox", { warm_pool: warmPool, ttl_seconds: 600 });
const id = /created sandbox (\S+)/.exec(created.text)?.[1];
if (!id) throw new Error(`create_sandbox: ${created.text}`);
try {
  await call("run_code", { sandbox_id: id, language: "javascript", code: "const xs = [3, 1, 2]; console.log(xs.sort().join(','))" });
  const chart = await call("run_code", {
    sandbox_id: id,
    code: "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 8])\nplt.show()",
  });
  console.log(`figure: ${chart.images.map((i) => `${i.mimeType}, ${Buffer.from(i.data, "base64").length} bytes`).join("; ")}`);
  console.log(`files: ${(await call("list_files", { sandbox_id: id })).text.replaceAll("\n", ", ")}`);
} finally {
  await call("delete_sandbox", { sandbox_id: id });
}
