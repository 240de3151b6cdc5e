import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startExecd, unb64, type ExecdProcess, type ExecuteAnswer } from "./harness.js";
import { findRunsc, runscWrap } from "./runsc.js";

// The gVisor part of the suite: the same server, started inside a real runsc sandbox.
const runsc = findRunsc();
if (!runsc) {
  console.warn("[execd/gvisor] SKIPPED: runsc not found (install with scripts/lib/install-execd-deps.sh)");
}
if (runsc && process.getuid?.() !== 0) {
  console.warn("[execd/gvisor] SKIPPED: `runsc do` needs root to create its network namespace");
}
const canRun = Boolean(runsc) && process.getuid?.() === 0;

describe.runIf(canRun)("sandbox-execd under gVisor (runsc)", () => {
  let execd: ExecdProcess;

  beforeAll(async () => {
    const { ip, wrap } = runscWrap(runsc!);
    execd = await startExecd({ token: "gvisor-token", wrap, connectHost: ip });
  });
  afterAll(async () => {
    await execd?.stop();
  });

  it("runs on gVisor's kernel, not the host's", async () => {
    const { body } = await execd.post<{ stdout: string; exit_code: number }>("/execute", {
      command: "dmesg; echo ---; cat /proc/version",
    });
    expect(body.exit_code).toBe(0);
    const [dmesg, version] = body.stdout.split("---\n");
    // gVisor's Sentry writes its own boot log; a host kernel's dmesg never says this.
    expect(dmesg).toContain("Starting gVisor...");
    expect(version).toMatch(/^Linux version \d/);
    const { body: python } = await execd.post<ExecuteAnswer>("/v1/execute", {
      code: "import platform\nopen('/proc/version').read().split()[2] == platform.release()",
    });
    expect(python.results[0]!.data).toBe("True");
  });

  it("keeps Python and JavaScript state and returns files inside the sandbox", async () => {
    await execd.post("/v1/execute", {
      code: "lines = open('input.txt').read().splitlines()",
      files: [{ name: "input.txt", content: b64("one\ntwo\n") }],
    });
    const { body } = await execd.post<ExecuteAnswer>("/v1/execute", {
      code: "open('output.txt', 'w').write(str(len(lines)))",
    });
    expect(body.outputFiles.map((f) => [f.name, unb64(f.content)])).toEqual([["output.txt", "2"]]);
    await execd.post("/v1/execute", { language: "javascript", code: "let n = 20;" });
    const js = await execd.post<ExecuteAnswer>("/v1/execute", { language: "javascript", code: "n * 2 + 2" });
    expect(js.body.results[0]!.data).toBe("42");
  });

  it("renders a matplotlib PNG and survives a timeout inside the sandbox", async () => {
    const { body } = await execd.post<ExecuteAnswer>("/v1/execute", {
      code: "import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])",
    });
    expect(body.results.map((r) => r.mimeType)).toContain("image/png");
    const timedOut = await execd.post<ExecuteAnswer>("/v1/execute", { code: "import time\ntime.sleep(30)", timeoutMs: 1000 });
    expect(timedOut.body.error?.name).toBe("TimeoutError");
    expect((await execd.post<ExecuteAnswer>("/v1/execute", { code: "1 + 1" })).body.results[0]!.data).toBe("2");
  });

  it("still refuses requests without the token", async () => {
    expect((await fetch(`${execd.url}/v1/contexts`)).status).toBe(401);
  });
});
