// In a sandbox the execution server is its container's PID 1, and orphaned processes (a
// daemon the user's code left behind, a killed fork tree) are reparented to it. Node never
// waits for them, so each would stay a zombie for the life of the sandbox, until no process
// can be created. As PID 1 the server runs under a small bash init that reaps them.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canUnshare, startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

const available = canUnshare();
let execd: ExecdProcess | undefined;

beforeAll(async () => {
  if (!available) return;
  execd = await startExecd({
    token: "pid1",
    wrap: (argv) => ({ file: "unshare", args: ["-fp", "--mount-proc", "--kill-child", ...argv] }),
  });
});
afterAll(async () => {
  // Only when a test failed before the SIGTERM one: SIGKILL reaches through unshare --kill-child.
  if (execd && execd.child.exitCode === null) {
    execd.child.kill("SIGKILL");
  }
});

const zombies = `
import os
count = 0
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            stat = open(f'/proc/{p}/stat').read()
        except OSError:
            continue
        if stat[stat.rfind(')') + 2] == 'Z':
            count += 1
print(count)
`;

describe.skipIf(!available)("the server as PID 1", () => {
  it("runs under an init that reaps orphans: no zombies pile up", async () => {
    const pid1 = await execd!.post<ExecuteAnswer>("/v1/execute", { code: "print(open('/proc/1/comm').read().strip())" });
    expect(pid1.body.stdout.trim()).toBe("bash");
    const orphans = await execd!.post<ExecuteAnswer>("/v1/execute", {
      code: "import os, time\nfor i in range(20):\n    if os.fork() == 0:\n        if os.fork() == 0:\n            time.sleep(0.2)\n            os._exit(0)\n        os._exit(0)\n    os.wait()\ntime.sleep(1.5)",
    });
    expect(orphans.body.exitCode).toBe(0);
    const count = await execd!.post<ExecuteAnswer>("/v1/execute", { code: zombies });
    expect(count.body.stdout.trim()).toBe("0");
    // The init is invisible to user code otherwise: the kernel's environment is the server's,
    // plus the variables the server gives every interpreter (its tag, the task and fork-memory limits).
    const env = await execd!.post<ExecuteAnswer>("/v1/execute", {
      code: "import os\nprint(sorted(k for k in os.environ if k.startswith('EXECD')))",
    });
    expect(env.body.stdout.trim()).toBe("['EXECD_CONTEXT_TAG', 'EXECD_FORK_MEMORY_BYTES', 'EXECD_MAX_TASKS']");
  });

  it("stops cleanly on SIGTERM through the init", async () => {
    const child = execd!.child;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // unshare ignores TERM while it waits; the kubelet signals the container's PID 1, which
    // is unshare's child: the init.
    const init = execFileSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" }).trim();
    process.kill(Number(init), "SIGTERM");
    expect(await exited).toBe(0);
    expect(execd!.logs.some((line) => line.includes("shutting down"))).toBe(true);
    await execd!.stop(); // removes the workspace; the process is gone already
    execd = undefined;
  });
});
