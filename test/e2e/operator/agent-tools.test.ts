// An agent's view, against the installed router and real gVisor sandboxes from a warm pool: the
// official MCP client drives `sandboxctl mcp` (stdio, as agent apps launch it): pandas and a
// matplotlib figure (an MCP image), files in and out, then the sandbox deleted. Then the
// LangChain and AI SDK examples run as a user runs them.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, clusterEnv, createNamespace, kubectlOk, type ClusterEnv } from "../harness/cluster.js";
import { agentToken, applyPythonPool, deleteNamespaceAndWait, routerUrl } from "./helpers.js";

const POOL = "mcp-pool";

type ToolResult = { content: Array<{ type: string; text?: string; data?: string; mimeType?: string }>; isError?: boolean };

describe("an MCP client using sandboxes through sandboxctl mcp (real cluster, gVisor)", () => {
  let env: ClusterEnv;
  let ns: string;
  let client: Client;
  let agentEnv: Record<string, string>;

  const call = async (name: string, args: Record<string, unknown>): Promise<ToolResult> =>
    (await client.callTool({ name, arguments: args })) as ToolResult;
  const text = (r: ToolResult): string =>
    r.content
      .filter((c) => c.type === "text")
      .map((c) => c.text)
      .join("\n");

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-mcp");
    await applyPythonPool(env, ns, POOL, { replicas: 1, waitReady: true });
    const token = await agentToken(env, ns, "mcp-agent", true);
    // What an agent that claims its own sandboxes needs (docs/install-kind.md's sandbox-user Role).
    const claims = "--resource=sandboxclaims.extensions.agents.x-k8s.io";
    await kubectlOk(env, ["-n", ns, "create", "role", "mcp-claims", "--verb=get,list,create,delete", claims]);
    await kubectlOk(env, ["-n", ns, "create", "rolebinding", "mcp-claims", "--role=mcp-claims", `--serviceaccount=${ns}:mcp-agent`]);
    agentEnv = { PATH: process.env["PATH"] ?? "", SANDBOX_ROUTER_URL: await routerUrl(env), SANDBOX_TOKEN: token };
    client = new Client({ name: "e2e-agent", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts"), "-n", ns, "mcp"],
        cwd: REPO_ROOT,
        env: agentEnv,
        stderr: "pipe",
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await client?.close();
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("claims a sandbox, runs pandas and gets a matplotlib figure back as an image, moves files, and deletes it", async () => {
    const created = await call("create_sandbox", { warm_pool: POOL, ttl_seconds: 600 });
    const id = /created sandbox (\S+)/.exec(text(created))?.[1] ?? "";
    expect(id, text(created)).toMatch(/^sbx-/);

    await call("upload_file", { sandbox_id: id, path: "sales.csv", content: "month,units\njan,3\nfeb,5\nmar,9\n" });
    const analysis = await call("run_code", {
      sandbox_id: id,
      code: [
        "import pandas as pd",
        "import matplotlib.pyplot as plt",
        "df = pd.read_csv('sales.csv')",
        "print(df['units'].sum())",
        "df.plot(x='month', y='units', kind='bar')",
        "plt.savefig('units.png')",
        "plt.show()",
      ].join("\n"),
    });
    expect(analysis.isError ?? false).toBe(false);
    expect(text(analysis)).toContain("stdout:\n17");
    const figure = analysis.content.find((c) => c.type === "image");
    expect(figure?.mimeType).toBe("image/png");
    expect(
      Buffer.from(figure?.data ?? "", "base64")
        .subarray(1, 4)
        .toString("latin1"),
    ).toBe("PNG");

    // The state is kept: df is still there.
    expect(text(await call("run_code", { sandbox_id: id, code: "len(df)" }))).toContain("3");
    const saved = (await call("download_file", { sandbox_id: id, path: "units.png" })).content.find((c) => c.type === "image");
    expect(saved).toMatchObject({ type: "image", mimeType: "image/png" });
    expect(text(await call("list_files", { sandbox_id: id }))).toMatch(/units\.png\t\d+/);

    expect(text(await call("delete_sandbox", { sandbox_id: id }))).toBe(`deleted sandbox ${id}`);
  });

  it.each(["langchain-tools.ts", "ai-sdk-tools.ts"])("examples/%s runs against the cluster and gets a figure back", async (example) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", path.join(REPO_ROOT, "examples", example), ns, POOL],
      {
        cwd: REPO_ROOT,
        env: agentEnv,
        timeout: 150_000,
      },
    );
    console.log(`[agent-tools] ${example}:\n${stdout}`);
    expect(stdout).toMatch(/\[create_sandbox\] created sandbox sbx-/);
    expect(stdout).toMatch(/figure: image\/png, \d+ bytes/);
    expect(stdout).toMatch(/\[delete_sandbox\] deleted sandbox sbx-/);
  });
});
