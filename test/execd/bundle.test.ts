// The images run the execution server as one bundled file (scripts/bundle-execd.ts), not the
// tsc output the rest of this tier starts. The bundle must find its interpreter drivers beside
// itself, load its CommonJS dependencies, and hand PID 1 to the reaping init like the source.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleExecd, EXECD_LAUNCHER_FILE } from "../../scripts/bundle-execd.js";
import { canUnshare, startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

let outDir: string;
let bundle: string;

beforeAll(async () => {
  outDir = await mkdtemp(path.join(os.tmpdir(), "execd-bundle-"));
  bundle = await bundleExecd(outDir);
});
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe("the bundled server", () => {
  let execd: ExecdProcess | undefined;
  afterAll(async () => {
    await execd?.stop();
  });

  it("runs Python, JavaScript and bash cells with its drivers found beside the bundle", async () => {
    execd = await startExecd({ token: "bundle", entry: bundle, args: ["--prewarm", "python"] });
    const python = await execd.post<ExecuteAnswer>("/v1/execute", { language: "python", code: "x = 6 * 7\nx" });
    expect(python.status).toBe(200);
    expect(python.body.results).toEqual([{ mimeType: "text/plain", data: "42" }]);
    const javascript = await execd.post<ExecuteAnswer>("/v1/execute", {
      language: "javascript",
      code: "const y = [1, 2, 3].map((n) => n * 2); y.join(',')",
    });
    expect(javascript.body.results).toEqual([{ mimeType: "text/plain", data: "'2,4,6'" }]);
    const bash = await execd.post<ExecuteAnswer>("/v1/execute", { language: "bash", code: "echo out; echo err >&2; (exit 3)" });
    expect([bash.body.stdout, bash.body.stderr, bash.body.exitCode]).toEqual(["out\n", "err\n", 3]);
    // State kept between calls in the same context.
    const again = await execd.post<ExecuteAnswer>("/v1/execute", { language: "python", code: "x + 1" });
    expect(again.body.results).toEqual([{ mimeType: "text/plain", data: "43" }]);
    // Refuses a call without the token, as the source does.
    expect((await fetch(`${execd.url}/v1/execute`, { method: "POST", body: "{}" })).status).toBe(401);
  });

  it.skipIf(!canUnshare())("as PID 1, runs under the reaping init", async () => {
    const pid1 = await startExecd({
      token: "bundle-pid1",
      entry: bundle,
      wrap: (argv) => ({ file: "unshare", args: ["-fp", "--mount-proc", "--kill-child", ...argv] }),
    });
    try {
      const answer = await pid1.post<ExecuteAnswer>("/v1/execute", {
        code: "import os\nprint(open('/proc/1/comm').read().strip(), open(f'/proc/{os.getppid()}/cmdline').read().split(chr(0))[1])",
      });
      // PID 1 is the init (bash); the interpreter's parent is the bundled server.
      expect(answer.body.stdout.trim()).toBe(`bash ${bundle}`);
    } finally {
      pid1.child.kill("SIGKILL");
      await pid1.stop();
    }
  });

  it.skipIf(!canUnshare())("as PID 1 through its launcher, starts the init itself, so node starts once", async () => {
    const launcher = path.join(outDir, EXECD_LAUNCHER_FILE);
    const pid1 = await startExecd({
      token: "launcher-pid1",
      entry: bundle,
      // node's argv is [node, bundle, ...server arguments]; the launcher takes the arguments.
      wrap: (argv) => ({ file: "unshare", args: ["-fp", "--mount-proc", "--kill-child", launcher, ...argv.slice(2)] }),
    });
    try {
      const answer = await pid1.post<ExecuteAnswer>("/v1/execute", {
        code: "import json, os\nprint(json.dumps(open('/proc/1/cmdline').read().split(chr(0))[:4]))\nprint(open(f'/proc/{os.getppid()}/stat').read().split()[3])",
      });
      const [init, parent] = answer.body.stdout.trim().split("\n");
      // PID 1 is bash running the init file with node and the bundle, not the server's own
      // hand-over (bash -c <script>), which would mean node had started once before.
      expect(JSON.parse(init ?? "null")).toEqual(["bash", path.join(outDir, "execd-init.sh"), "node", bundle]);
      // The server (the interpreter's parent) is the init's child.
      expect(parent).toBe("1");
    } finally {
      pid1.child.kill("SIGKILL");
      await pid1.stop();
    }
  });
});
