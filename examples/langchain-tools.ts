// The sandbox tools as a LangChain.js agent gets them, called here by the example itself in the
// order a model would call them, so it runs without a model or an API key.
//
//   export SANDBOX_ROUTER_URL=http://<router>:8080 SANDBOX_TOKEN=$(kubectl create token agent)
//   npx tsx examples/langchain-tools.ts <namespace> <warm-pool>
//
// In your project: import { langchainSandboxTools } from "agent-sandbox-ts/langchain". To give the
// tools to a model, bind them: `model.bindTools(tools)`, or `createAgent({ model, tools })` from
// langchain; the model then picks the calls this file makes by hand.
import type { ToolMessage } from "@langchain/core/messages";
import { langchainSandboxTools } from "../src/adapters/langchain.js";
import { SandboxClient } from "../src/index.js";

const [namespace = "default", warmPool = "python-pool"] = process.argv.slice(2);
const client = new SandboxClient({ namespace });
const tools = new Map(langchainSandboxTools(client).map((t) => [t.name, t]));

let step = 0;
/** Calls a tool the way an agent's tool node does: with a tool call, answered by a ToolMessage. */
async function call(name: string, args: Record<string, unknown>): Promise<ToolMessage> {
  const tool = tools.get(name);
  if (!tool) throw new Error(`no tool ${name}`);
  const message = (await tool.invoke({ type: "tool_call", id: `call-${++step}`, name, args })) as ToolMessage;
  console.log(`[${name}] ${String(message.content).split("\n")[0]}`);
  return message;
}

const created = await call("create_sandbox", { warm_pool: warmPool, ttl_seconds: 600 });
const id = /created sandbox (\S+)/.exec(String(created.content))?.[1];
if (!id) throw new Error(`create_sandbox: ${String(created.content)}`);
try {
  await call("upload_file", { sandbox_id: id, path: "scores.csv", content: "name,score\nada,91\nlin,78\nmo,85\n" });
  const summary = await call("run_code", {
    sandbox_id: id,
    code: "import pandas as pd\ndf = pd.read_csv('scores.csv')\nprint(df['score'].mean())",
  });
  console.log(String(summary.content));
  const chart = await call("run_code", {
    sandbox_id: id,
    code: "import matplotlib.pyplot as plt\ndf.plot(x='name', y='score', kind='bar')\nplt.show()",
  });
  const images = (chart.artifact as { images: Array<{ mimeType: string; data: string }> }).images;
  console.log(`figure: ${images.map((i) => `${i.mimeType}, ${Buffer.from(i.data, "base64").length} bytes`).join("; ")}`);
} finally {
  await call("delete_sandbox", { sandbox_id: id });
}
