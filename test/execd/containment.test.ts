// Hostile code against one execution server: output floods are cut at --max-output-bytes
// with a marker, and an interpreter's memory is capped (--kernel-memory) so a memory bomb
// fails inside the call instead of taking the whole sandbox with it. The server and the
// context's other state survive both.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNdjson, startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

const OUTPUT_LIMIT = 4096;
const KERNEL_MEMORY = 512 * 1024 * 1024;

interface TruncatedAnswer extends ExecuteAnswer {
  outputTruncated?: { limitBytes: number; droppedBytes: number };
}

let execd: ExecdProcess;

beforeAll(async () => {
  execd = await startExecd({
    token: "contain",
    args: ["--max-output-bytes", String(OUTPUT_LIMIT), "--kernel-memory", String(KERNEL_MEMORY), "--prewarm", "none"],
  });
});
afterAll(async () => {
  await execd?.stop();
});

const run = async (body: Record<string, unknown>): Promise<TruncatedAnswer> => {
  const res = await execd.post<TruncatedAnswer>("/v1/execute", body);
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
  return res.body;
};

describe("output floods", () => {
  it("cuts a call's output at --max-output-bytes, says so in the text and the answer, and keeps the context", async () => {
    await run({ code: "kept = 41" });
    const flood = await run({ code: "for i in range(20000):\n    print('line', i)\nkept += 1" });
    expect(flood.exitCode).toBe(0);
    expect(flood.stdout.startsWith("line 0\nline 1\n")).toBe(true);
    expect(flood.stdout).toContain("output truncated");
    expect(flood.stdout).not.toContain("line 19999");
    expect(Buffer.byteLength(flood.stdout)).toBeLessThan(OUTPUT_LIMIT + 300);
    expect(flood.outputTruncated?.limitBytes).toBe(OUTPUT_LIMIT);
    expect(flood.outputTruncated?.droppedBytes).toBeGreaterThan(100_000);
    // The code after the flood ran, and the context's state is intact.
    expect((await run({ code: "kept" })).results[0]?.data).toBe("42");
  });

  it("counts stdout and stderr together, and leaves a quiet call untouched", async () => {
    const both = await run({ code: "import sys\nfor i in range(2000):\n    print('out', i)\n    print('err', i, file=sys.stderr)" });
    expect(Buffer.byteLength(both.stdout) + Buffer.byteLength(both.stderr)).toBeLessThan(OUTPUT_LIMIT + 300);
    expect(`${both.stdout}${both.stderr}`).toContain("output truncated");
    const quiet = await run({ code: "print('small')" });
    expect(quiet.stdout).toBe("small\n");
    expect(quiet.outputTruncated).toBeUndefined();
  });

  it("bounds output written straight to fd 1 by child processes and bash", async () => {
    const shell = await run({ language: "bash", code: "yes spam | head -c 200000" });
    expect(shell.stdout).toContain("output truncated");
    expect(Buffer.byteLength(shell.stdout)).toBeLessThan(OUTPUT_LIMIT + 300);
    const child = await run({ code: "import subprocess\nsubprocess.run(['sh', '-c', 'yes spam | head -c 200000'])" });
    expect(child.stdout).toContain("output truncated");
    expect(Buffer.byteLength(child.stdout)).toBeLessThan(OUTPUT_LIMIT + 300);
  });

  it("an endless print loop ends at its timeout with bounded output, and the server carries on", async () => {
    const endless = await run({ code: "while True:\n    print('spam' * 20)", timeoutMs: 3000 });
    expect(endless.error?.name).toBe("TimeoutError");
    expect(endless.stdout).toContain("output truncated");
    expect(Buffer.byteLength(endless.stdout)).toBeLessThan(OUTPUT_LIMIT + 300);
    expect(endless.outputTruncated?.droppedBytes).toBeGreaterThan(0);
    expect((await run({ code: "print('after')" })).stdout).toBe("after\n");
  });

  it("truncates the NDJSON stream the same way and reports it in the summary", async () => {
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ code: "for i in range(20000):\n    print('line', i)" }),
    });
    const events = await readNdjson(res);
    const text = events
      .filter((e) => e.type === "stdout")
      .map((e) => String(e.text))
      .join("");
    expect(Buffer.byteLength(text)).toBeLessThan(OUTPUT_LIMIT + 300);
    expect(text).toContain("output truncated");
    const summary = events.at(-1) as { type: string; exitCode: number; outputTruncated?: { limitBytes: number } };
    expect(summary.type).toBe("summary");
    expect(summary.exitCode).toBe(0);
    expect(summary.outputTruncated?.limitBytes).toBe(OUTPUT_LIMIT);
  });

  it("bounds the upstream /execute command output by the same limit", async () => {
    const res = await execd.post<{ stdout: string; stderr: string; exit_code: number }>("/execute", {
      command: "yes spam | head -c 200000",
    });
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(res.body.stdout)).toBeLessThanOrEqual(OUTPUT_LIMIT);
    expect(res.body.stderr).toContain("truncated");
  });
});

describe("memory bombs", () => {
  it("python: an allocation past --kernel-memory is a MemoryError in the call; the interpreter and its state survive", async () => {
    await run({ code: "before_bomb = 'still here'" });
    const bomb = await run({ code: "hog = []\nwhile True:\n    hog.append(bytearray(16 * 1024 * 1024))" });
    expect(bomb.exitCode).toBe(1);
    expect(bomb.error?.name).toBe("MemoryError");
    expect(bomb.context.stateLost).toBe(false);
    expect((await run({ code: "del hog\nbefore_bomb" })).results[0]?.data).toBe("'still here'");
  });

  it("python: user code cannot lift the cap, and child processes inherit it", async () => {
    const lifted = await run({
      code: "import resource\ntry:\n    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n    print('lifted')\nexcept (ValueError, OSError) as e:\n    print('refused', type(e).__name__)",
    });
    expect(lifted.stdout).toContain("refused");
    const child = await run({
      code: "import subprocess, sys\nr = subprocess.run([sys.executable, '-c', 'b = bytearray(1024 * 1024 * 1024)'], capture_output=True, text=True)\nprint(r.returncode, 'MemoryError' in r.stderr)",
    });
    expect(child.stdout.trim()).toBe("1 True");
  });

  it("bash: the cap applies to the shell's commands", async () => {
    const bash = await run({ language: "bash", code: "ulimit -v" });
    expect(Number(bash.stdout.trim())).toBe(KERNEL_MEMORY / 1024);
  });

  it("javascript: the heap is capped below the interpreter's share; a heap bomb restarts the context and says so", async () => {
    await run({ language: "javascript", code: "globalThis.marker = 1" });
    const bomb = await run({
      language: "javascript",
      code: "const hog = []; while (true) hog.push(new Array(1e6).fill(1.5));",
      timeoutMs: 60_000,
    });
    expect(bomb.error?.name).toBe("InterpreterDied");
    expect(bomb.context.stateLost).toBe(true);
    expect(bomb.context.restartReason).toMatch(/memory/i);
    expect((await run({ language: "javascript", code: "typeof globalThis.marker" })).results[0]?.data).toBe("'undefined'");
  });
});
