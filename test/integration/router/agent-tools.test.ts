// The sandbox tools as agents get them, against the router, the real API server and the
// operator; execution servers as in router-fixture.ts (real python3 with matplotlib, node and
// bash). `sandboxctl mcp` (built, as a child process) is driven by the official MCP client over
// stdio, as agent apps launch it, and over streamable HTTP; the LangChain and AI SDK adapters are
// called in process, as an agent framework's tool node calls them.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aiSandboxTools } from "../../../src/adapters/ai-sdk.js";
import { langchainSandboxTools } from "../../../src/adapters/langchain.js";
import { SandboxClient } from "../../../src/index.js";
import type { Kube } from "../../../src/runtime/index.js";
import type { ToolOutput } from "../../../src/tools/content.js";
import { poolManifest, startOperator, templateManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { buildSandboxctl, sandboxctlBuildDir } from "./build-sandboxctl.js";
import { poolReady } from "./helpers.js";
import { grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

const BUILD_DIR = sandboxctlBuildDir("sandboxctl-agent-tools-test-build");
const BIN = path.join(BUILD_DIR, "cli/main.js");

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let client: Client;

type Content = { type: string; text?: string; data?: string; mimeType?: string };
type ToolResult = { content: Content[]; isError?: boolean };

async function call(name: string, args: Record<string, unknown>, via: Client = client): Promise<ToolResult> {
  return (await via.callTool({ name, arguments: args })) as ToolResult;
}

const text = (r: ToolResult): string =>
  r.content
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");

beforeAll(async () => {
  await buildSandboxctl(BUILD_DIR);
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("mcp");
  await grantSandboxUser(kube, ns, "alice");
  await kube.create(templateManifest(ns, "python"));
  await kube.create(poolManifest(ns, "python-pool", "python", 1));
  await poolReady(kube, ns, "python-pool", 1);
  await waitFor(() => router.router.caches.pools.get(ns, "python-pool"), { message: "router sees the pool" });
  client = new Client({ name: "mcp-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "-n", ns, "mcp"],
      env: { PATH: process.env["PATH"] ?? "", SANDBOX_ROUTER_URL: router.url, SANDBOX_TOKEN: userToken("alice") },
      stderr: "pipe",
    }),
  );
}, 300_000);

afterAll(async () => {
  await client?.close();
  await router?.stop();
  await operator?.stop();
});

describe("sandboxctl mcp (stdio)", () => {
  let id = "";

  it("lists the sandbox tools with their input schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "create_sandbox",
      "delete_sandbox",
      "download_file",
      "list_files",
      "list_sandboxes",
      "run_code",
      "upload_file",
    ]);
    const run = tools.find((t) => t.name === "run_code");
    expect(run?.inputSchema.required).toEqual(expect.arrayContaining(["sandbox_id", "code"]));
    expect(JSON.stringify(run?.inputSchema.properties?.["language"])).toContain("javascript");
  });

  it("creates a sandbox from a warm pool and lists it", async () => {
    const created = await call("create_sandbox", { warm_pool: "python-pool", ttl_seconds: 600 });
    expect(created.isError ?? false).toBe(false);
    id = /created sandbox (\S+)/.exec(text(created))?.[1] ?? "";
    expect(id).toMatch(/^sbx-[0-9a-f]{10}$/);
    expect(text(await call("list_sandboxes", {}))).toContain(`${id} (${ns}): running`);
  });

  it("runs Python with state kept between calls, JavaScript and bash", async () => {
    expect(text(await call("run_code", { sandbox_id: id, code: "x = 21\nprint('set')" }))).toContain("stdout:\nset\n");
    expect(text(await call("run_code", { sandbox_id: id, code: "x * 2" }))).toContain("result (text/plain):\n42");
    const js = await call("run_code", { sandbox_id: id, language: "javascript", code: "console.log(['a', 'b'].join('+'))" });
    expect(text(js)).toContain("stdout:\na+b");
    const bash = await call("run_code", { sandbox_id: id, language: "bash", code: "echo out; echo err >&2" });
    expect(text(bash)).toContain("stdout:\nout");
    expect(text(bash)).toContain("stderr:\nerr");
  });

  it("returns a matplotlib figure as an image", async () => {
    const r = await call("run_code", {
      sandbox_id: id,
      code: "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('squares')\nplt.show()",
    });
    const image = r.content.find((c) => c.type === "image");
    expect(image?.mimeType).toBe("image/png");
    // A PNG: the signature's first bytes.
    expect(
      Buffer.from(image?.data ?? "", "base64")
        .subarray(1, 4)
        .toString("latin1"),
    ).toBe("PNG");
  });

  it("reports an exception as the tool's text, not as a failed call", async () => {
    const r = await call("run_code", { sandbox_id: id, code: "raise KeyError('missing')" });
    expect(r.isError ?? false).toBe(false);
    expect(text(r)).toContain("error: KeyError");
  });

  it("uploads, lists and downloads files", async () => {
    expect(text(await call("upload_file", { sandbox_id: id, path: "data/in.csv", content: "a,b\n1,2\n" }))).toContain(
      "wrote data/in.csv (8 bytes)",
    );
    const png = Buffer.from("89504e470d0a1a0a", "hex");
    await call("upload_file", { sandbox_id: id, path: "data/tiny.png", content: png.toString("base64"), encoding: "base64" });
    const listing = text(await call("list_files", { sandbox_id: id, path: "data" }));
    expect(listing).toContain("in.csv\t8");
    expect(listing).toContain("tiny.png\t8");
    expect(text(await call("run_code", { sandbox_id: id, code: "len(open('data/in.csv').read().splitlines())" }))).toContain("2");
    expect(text(await call("download_file", { sandbox_id: id, path: "data/in.csv" }))).toBe("a,b\n1,2\n");
    const image = (await call("download_file", { sandbox_id: id, path: "data/tiny.png" })).content.find((c) => c.type === "image");
    expect(image).toMatchObject({ type: "image", mimeType: "image/png", data: png.toString("base64") });
  });

  it("answers a call on an unknown sandbox or a bad argument with an error that names it", async () => {
    const unknown = await call("run_code", { sandbox_id: "sbx-0000000000", code: "1" });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/^run_code failed: .*sbx-0000000000/);
    const both = await call("create_sandbox", { warm_pool: "python-pool", template: "python" });
    expect(both.isError).toBe(true);
    expect(text(both)).toContain("give exactly one of warm_pool or template");
    const badLanguage = await call("run_code", { sandbox_id: id, code: "1", language: "cobol" }).catch((err: Error) => ({
      content: [{ type: "text", text: err.message }],
      isError: true,
    }));
    expect(badLanguage.isError).toBe(true);
    expect(text(badLanguage)).toContain("language");
  });

  it("deletes the sandbox", async () => {
    expect(text(await call("delete_sandbox", { sandbox_id: id }))).toBe(`deleted sandbox ${id}`);
    await waitFor(async () => !text(await call("list_sandboxes", {})).includes(id), { message: "the sandbox gone from the list" });
  });
});

describe("sandboxctl mcp --http", () => {
  let server: ChildProcess | undefined;
  let url = "";

  beforeAll(async () => {
    const child = spawn(process.execPath, [BIN, "-n", ns, "mcp", "--http", "127.0.0.1:0"], {
      env: { PATH: process.env["PATH"] ?? "", SANDBOX_ROUTER_URL: router.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    server = child;
    url = await new Promise<string>((resolve, reject) => {
      let err = "";
      child.stderr?.on("data", (c: Buffer) => {
        err += c.toString();
        const m = /at (http:\/\/\S+\/mcp)/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`sandboxctl mcp --http exited ${code}: ${err}`)));
    });
  });

  afterAll(() => {
    server?.kill("SIGTERM");
  });

  it("refuses a request without a bearer token (401) and anything but POST (405)", async () => {
    const anonymous = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await anonymous.json()) as { error: { message: string } }).error.message).toContain("bearer token is required");
    const get = await fetch(url, { headers: { authorization: `Bearer ${userToken("alice")}` } });
    expect(get.status).toBe(405);
  });

  it("serves the tools with the caller's own identity: alice sees her namespace, another user (no grant in the namespace) is refused by the router", async () => {
    const alice = new Client({ name: "mcp-http-test", version: "1.0.0" });
    await alice.connect(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${userToken("alice")}` } } }),
    );
    try {
      const created = await call("create_sandbox", { warm_pool: "python-pool" }, alice);
      const id = /created sandbox (\S+)/.exec(text(created))?.[1] ?? "";
      expect(id, text(created)).toMatch(/^sbx-/);
      expect(text(await call("run_code", { sandbox_id: id, code: "6 * 7" }, alice))).toContain("42");
      await call("delete_sandbox", { sandbox_id: id }, alice);
    } finally {
      await alice.close();
    }
    const dave = new Client({ name: "mcp-http-test", version: "1.0.0" });
    await dave.connect(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${userToken("dave")}` } } }),
    );
    try {
      const refused = await call("list_sandboxes", {}, dave);
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/^list_sandboxes failed: user "dave" cannot /);
    } finally {
      await dave.close();
    }
  });
});

describe("the LangChain and AI SDK adapters", () => {
  const sdk = (): SandboxClient => new SandboxClient({ routerUrl: router.url, token: userToken("alice"), namespace: ns });

  it("LangChain: a tool node's calls create a sandbox, run pandas, get the figure as the artifact, and delete it", async () => {
    const tools = new Map(langchainSandboxTools(sdk()).map((t) => [t.name, t]));
    let n = 0;
    const invoke = async (name: string, args: Record<string, unknown>) =>
      (await tools.get(name)?.invoke({ type: "tool_call", id: `c${++n}`, name, args })) as {
        content: unknown;
        artifact: { images: ToolOutput["images"] };
      };
    const created = await invoke("create_sandbox", { warm_pool: "python-pool" });
    const id = /created sandbox (\S+)/.exec(String(created.content))?.[1] ?? "";
    expect(id, String(created.content)).toMatch(/^sbx-/);
    const mean = await invoke("run_code", { sandbox_id: id, code: "import pandas as pd\npd.Series([1, 2, 6]).mean()" });
    expect(String(mean.content)).toContain("result (text/plain):\n3.0");
    const chart = await invoke("run_code", { sandbox_id: id, code: "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()" });
    expect(chart.artifact.images.map((i) => i.mimeType)).toEqual(["image/png"]);
    expect(String((await invoke("delete_sandbox", { sandbox_id: id })).content)).toBe(`deleted sandbox ${id}`);
  });

  it("AI SDK: execute creates a sandbox, keeps state across calls, reads files back, and reports a bad call as text", async () => {
    const tools = aiSandboxTools(sdk());
    const options = { toolCallId: "t", messages: [], context: {} };
    const run = async (name: string, input: Record<string, unknown>) => (await tools[name]?.execute?.(input, options)) as ToolOutput;
    const id = /created sandbox (\S+)/.exec((await run("create_sandbox", { warm_pool: "python-pool" })).text)?.[1] ?? "";
    expect(id).toMatch(/^sbx-/);
    await run("run_code", { sandbox_id: id, language: "javascript", code: "globalThis.total = 40" });
    expect((await run("run_code", { sandbox_id: id, language: "javascript", code: "total + 2" })).text).toContain("42");
    await run("upload_file", { sandbox_id: id, path: "note.txt", content: "kept" });
    expect((await run("download_file", { sandbox_id: id, path: "note.txt" })).text).toBe("kept");
    expect((await run("run_code", { sandbox_id: "sbx-0000000000", code: "1" })).text).toMatch(/^run_code failed: .*sbx-0000000000/);
    await run("delete_sandbox", { sandbox_id: id });
  });
});
