// A context's processes end with it: what user code started in the background, processes
// that left the interpreter's session included, is stopped when the call times out, when
// the context is deleted or restarted, and not before. Under gVisor (runsc), a fork bomb and
// contexts that together outgrow the sandbox fail the one call that caused them and stop one
// context, instead of taking the whole sandbox with them.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";
import { findRunsc, runscWrap } from "./runsc.js";

type Answer = ExecuteAnswer;

/** Whether a process still runs (a zombie waiting for its parent does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

/** Python that starts `sleep 600` in a session of its own and prints its pid. */
const ESCAPEE = "import subprocess\np = subprocess.Popen(['sleep', '600'], start_new_session=True)\nprint(p.pid)";

describe("processes a context leaves running", () => {
  let execd: ExecdProcess;
  const run = async (body: Record<string, unknown>): Promise<Answer> => {
    const res = await execd.post<Answer>("/v1/execute", body);
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    execd = await startExecd({ token: "runaway", args: ["--prewarm", "none"] });
  });
  afterAll(async () => {
    await execd?.stop();
  });

  it("a process that left the interpreter's session outlives a finished call, and is stopped when a later call times out", async () => {
    const pid = Number((await run({ code: ESCAPEE })).stdout.trim());
    expect(pid).toBeGreaterThan(1);
    await run({ code: "x = 1" });
    expect(running(pid), "a background process survives calls that end normally").toBe(true);

    const timedOut = await run({ code: "import time\ntime.sleep(60)", timeoutMs: 1000 });
    expect(timedOut.error?.name).toBe("TimeoutError");
    expect(await eventually(() => !running(pid)), `pid ${pid} still runs after the timeout`).toBe(true);
  });

  it("a double-forked daemon and a setsid'd bash child are stopped when their context is deleted, other contexts' are not", async () => {
    for (const id of ["doomed", "bystander"]) {
      const res = await execd.post("/v1/contexts", { language: id === "doomed" ? "bash" : "python", id });
      expect(res.status).toBe(201);
    }
    const daemon = await run({
      context: "doomed",
      code: "setsid bash -c 'sleep 600 & echo $! > daemon.pid' < /dev/null > /dev/null 2>&1 &\nsleep 0.5; cat daemon.pid",
    });
    const daemonPid = Number(daemon.stdout.trim());
    const keeperPid = Number((await run({ context: "bystander", code: ESCAPEE })).stdout.trim());
    expect(running(daemonPid) && running(keeperPid)).toBe(true);

    const deleted = await execd.request("/v1/contexts/doomed", { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await eventually(() => !running(daemonPid)), `daemon ${daemonPid} survived its context`).toBe(true);
    expect(running(keeperPid), "the other context's background process is untouched").toBe(true);

    const restarted = await execd.request("/v1/contexts/bystander/restart", { method: "POST" });
    expect(restarted.status).toBe(200);
    expect(await eventually(() => !running(keeperPid)), `pid ${keeperPid} survived a restart of its context`).toBe(true);
  });
});

const runsc = findRunsc();
const underGvisor = Boolean(runsc) && process.getuid?.() === 0;
if (!underGvisor) console.warn("[execd/runaway-processes] gVisor part SKIPPED: needs runsc and root");

describe.runIf(underGvisor)("runaway code under gVisor: one call fails, the sandbox stays up", () => {
  const MiB = 1024 * 1024;
  let execd: ExecdProcess;
  const run = async (body: Record<string, unknown>): Promise<Answer> => {
    const res = await execd.post<Answer>("/v1/execute", body);
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(200);
    return res.body;
  };
  // Counted from the keeper context, which the bombs leave alone.
  const taskCount = async (): Promise<number> =>
    Number((await run({ context: "keeper", code: "import os\nsum(1 for p in os.listdir('/proc') if p.isdigit())" })).results[0]?.data);
  let baseline = 0;
  /** Waits until the sandbox runs no more processes than `reference` (default: before the bombs) plus a context's interpreter. */
  const settled = async (reference = baseline): Promise<number> => {
    let count = await taskCount();
    for (let i = 0; i < 100 && count > reference + 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      count = await taskCount();
    }
    return count;
  };

  beforeAll(async () => {
    const { ip, wrap } = runscWrap(runsc!);
    execd = await startExecd({
      token: "runaway-gvisor",
      wrap,
      connectHost: ip,
      args: ["--prewarm", "none", "--max-tasks", "100", "--memory-guard", String(900 * MiB), "--kernel-memory", String(600 * MiB)],
    });
    const created = await execd.post("/v1/contexts", { language: "python", id: "keeper" });
    expect(created.status).toBe(201);
    await run({ context: "keeper", code: "precious = 'kept'" });
    // The server, its init, the keeper and the default context's interpreter.
    await run({ code: "1" });
    baseline = await taskCount();
  });
  afterAll(async () => {
    await execd?.stop();
  });

  const keeperIntact = async (): Promise<void> => {
    const answer = await run({ context: "keeper", code: "precious" });
    expect(answer.results[0]?.data).toBe("'kept'");
    expect(answer.context.stateLost).toBe(false);
  };

  it("a Python fork bomb fails its call with ProcessLimitError; the server, the other context and the task count recover", async () => {
    const bomb = await run({
      code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
      timeoutMs: 60_000,
    });
    expect(bomb.error?.name).toBe("ProcessLimitError");
    // At the task limit, or earlier when the sandbox's memory reaches the point where new
    // processes are refused (how much it uses before the bomb varies from run to run).
    expect(bomb.error?.message).toMatch(
      /limit of 100 processes and threads|neared its memory limit .* while this context ran \d+ processes/,
    );
    expect(bomb.context.stateLost).toBe(true);
    await keeperIntact();
    expect(await settled()).toBeLessThanOrEqual(baseline + 1);
    // The context works again, with a fresh interpreter.
    expect((await run({ code: "1 + 1" })).results[0]?.data).toBe("2");
  });

  it("a bash fork bomb, whose processes are not the interpreter's children, is stopped the same way", async () => {
    const bomb = await run({ language: "bash", code: "bomb() { bomb | bomb & }; bomb; sleep 60", timeoutMs: 60_000 });
    expect(bomb.error?.name).toBe("ProcessLimitError");
    await keeperIntact();
    expect(await settled()).toBeLessThanOrEqual(baseline + 1);
    expect((await run({ language: "bash", code: "echo alive" })).stdout).toBe("alive\n");
  });

  it("two contexts that together outgrow the sandbox: the one holding the most is stopped, the other keeps its state", async () => {
    const hog = await execd.post("/v1/contexts", { language: "python", id: "hog" });
    expect(hog.status).toBe(201);
    // Each is under its own 600 MiB cap; together they pass the 900 MiB guard.
    await run({ context: "hog", code: `hoard = b'h' * (500 * ${MiB})\nlen(hoard) // ${MiB}` });
    const grower = await run({ code: `import time\ngrown = b'g' * (420 * ${MiB})\ntime.sleep(1)\nlen(grown) // ${MiB}` });
    expect(grower.error ?? null, JSON.stringify(grower.error)).toBeNull();
    expect(grower.results[0]?.data).toBe("420");
    const after = await run({ context: "hog", code: "'hoard' in globals()" });
    expect(after.results[0]?.data).toBe("False");
    expect(after.context.stateLost).toBe(true);
    expect(after.context.restartReason).toMatch(/past its limit of 900 MiB; this context held the most/);
    await keeperIntact();
  });

  it("a fork bomb in a sandbox whose memory is mostly in use is stopped when forks are refused for memory, before the task limit", async () => {
    // Memory in use as gVisor counts it for the sandbox (the guard's and task_limit.c's reading here).
    const usedMiB = async (): Promise<number> =>
      Number(
        (
          await run({
            context: "keeper",
            code: "t = {}\nfor line in open('/proc/meminfo'):\n    k, v = line.split(':')\n    t[k] = int(v.split()[0])\n(t['MemTotal'] - t['MemAvailable']) // 1024",
          })
        ).results[0]?.data,
      );
    // New processes are refused from 80% of the 900 MiB guard: 720 MiB. Ballast brings the
    // sandbox to 640 MiB, in contexts of at most 450 MiB (each under the 600 MiB cap), so the
    // bomb's own processes (a few MiB each) take it past 720 MiB long before 100 tasks.
    // The contexts earlier tests left running (and restarted) stay; only this test's must go.
    const start = await taskCount();
    for (const id of ["ballast-1", "ballast-2"]) {
      const missing = 640 - (await usedMiB());
      if (missing <= 0) break;
      expect((await execd.post("/v1/contexts", { language: "python", id })).status).toBe(201);
      await run({
        context: id,
        code: `ballast = bytearray(${Math.min(missing, 450)} * ${MiB})\nfor i in range(0, len(ballast), 4096):\n    ballast[i] = 1`,
      });
    }
    const before = await usedMiB();
    expect(before).toBeGreaterThanOrEqual(600);
    expect(before).toBeLessThan(720);
    const bomb = await run({
      code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
      timeoutMs: 60_000,
    });
    expect(bomb.error?.name).toBe("ProcessLimitError");
    expect(bomb.error?.message).toMatch(
      /neared its memory limit \(\d+ MiB in use; new processes are refused from 720 MiB\) while this context ran \d+ processes/,
    );
    await keeperIntact();
    for (const id of ["ballast-1", "ballast-2"]) await execd.request(`/v1/contexts/${id}`, { method: "DELETE" });
    expect(await settled(start)).toBeLessThanOrEqual(start + 1);
  });
});
