import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNdjson, startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

let execd: ExecdProcess;

beforeAll(async () => {
  execd = await startExecd();
});
afterAll(async () => {
  await execd?.stop();
});

const run = async (body: Record<string, unknown>): Promise<ExecuteAnswer> => {
  const { status, body: answer } = await execd.post<ExecuteAnswer>("/v1/execute", body);
  expect(status, JSON.stringify(answer)).toBe(200);
  return answer;
};

interface ContextInfo {
  id: string;
  language: string;
  state: string;
  restarts: number;
  lastRestartReason: string | null;
}

/** A fresh child of this process's cgroup v1 memory controller, or null if there is none. */
async function memoryCgroup(): Promise<string | null> {
  try {
    const line = (await readFile("/proc/self/cgroup", "utf8")).split("\n").find((l) => /^\d+:memory:/.test(l));
    if (!line) return null;
    const dir = path.join("/sys/fs/cgroup/memory", line.split(":")[2]!, `execd-oom-${process.pid}`);
    await mkdir(dir);
    return dir;
  } catch {
    return null;
  }
}

/** Polls the context until a call is running in it (no fixed sleeps). */
async function waitBusy(id: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const info = (await (await execd.request(`/v1/contexts/${id}`)).json()) as ContextInfo;
    if (info.state === "busy") return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`context ${id} never became busy`);
}

/** Polls until `marker` exists in the workspace, i.e. the running cell reached that point. */
async function waitFile(marker: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await execd.request(`/exists/${marker}`).then((r) => r.json() as Promise<{ exists: boolean }>)).exists) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${marker} never appeared`);
}

describe("contexts", () => {
  it("creates, lists, restarts and deletes contexts; a restart drops state", async () => {
    const created = await execd.post<ContextInfo>("/v1/contexts", { language: "python", id: "ctx-a" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: "ctx-a", language: "python", state: "idle", restarts: 0 });
    const duplicate = await execd.post("/v1/contexts", { language: "python", id: "ctx-a" });
    expect(duplicate.status).toBe(409);

    const generated = await execd.post<ContextInfo>("/v1/contexts", { language: "javascript" });
    expect(generated.status).toBe(201);
    expect(generated.body.id).toMatch(/^[0-9a-f-]{36}$/);

    await run({ context: "ctx-a", code: "kept = 'yes'" });
    expect((await run({ context: "ctx-a", code: "kept" })).results[0]!.data).toBe("'yes'");

    const listed = (await (await execd.request("/v1/contexts")).json()) as { contexts: ContextInfo[] };
    expect(listed.contexts.map((c) => c.id)).toEqual(expect.arrayContaining(["ctx-a", generated.body.id]));

    const restarted = await execd.post<ContextInfo>("/v1/contexts/ctx-a/restart", {});
    expect(restarted.body).toMatchObject({ id: "ctx-a", state: "idle", restarts: 1, lastRestartReason: "restart requested" });
    const after = await run({ context: "ctx-a", code: "'kept' in globals()" });
    expect(after.results[0]!.data).toBe("False");

    const deleted = await execd.request("/v1/contexts/ctx-a", { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect((await execd.request("/v1/contexts/ctx-a")).status).toBe(404);
    const gone = await execd.post("/v1/execute", { context: "ctx-a", code: "1" });
    expect(gone.status).toBe(404);
    expect((await execd.request(`/v1/contexts/${generated.body.id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("refuses a call whose language differs from its context's", async () => {
    const { status, body } = await execd.post<{ error: { code: string; message: string } }>("/v1/execute", {
      context: "default",
      language: "javascript",
      code: "1",
    });
    expect(status).toBe(409);
    expect(body.error.code).toBe("context_language_mismatch");
  });
});

describe("timeouts, interrupts and crashes", () => {
  it("kills a call past its timeout, reports lost state, and the context works again", async () => {
    await run({ context: "default", code: "before_timeout = 1" });
    const answer = await run({ code: "import time\nprint('started', flush=True)\ntime.sleep(60)", timeoutMs: 1000 });
    expect(answer.stdout).toBe("started\n");
    expect(answer.exitCode).toBe(124);
    expect(answer.error?.name).toBe("TimeoutError");
    expect(answer.context.stateLost).toBe(true);
    expect(answer.context.restartReason).toContain("timeout of 1000 ms");
    const next = await run({ code: "'before_timeout' in globals()" });
    expect(next.results[0]!.data).toBe("False");
    expect(next.context.stateLost).toBe(false);
    const info = (await (await execd.request("/v1/contexts/default")).json()) as ContextInfo;
    expect(info.restarts).toBeGreaterThanOrEqual(1);
  });

  it("interrupts a running Python call without losing the context's state", async () => {
    await run({ code: "survivor = 'still here'" });
    const pending = run({ code: "import time\nopen('py-running', 'w').close()\ntime.sleep(60)" });
    await waitFile("py-running");
    const interrupt = await execd.post<{ interrupted: boolean }>("/v1/contexts/default/interrupt", {});
    expect(interrupt.body.interrupted).toBe(true);
    const answer = await pending;
    expect(answer.error?.name).toBe("KeyboardInterrupt");
    expect(answer.context.stateLost).toBe(false);
    expect((await run({ code: "survivor" })).results[0]!.data).toBe("'still here'");
    // Nothing running: nothing to interrupt.
    expect((await execd.post<{ interrupted: boolean }>("/v1/contexts/default/interrupt", {})).body.interrupted).toBe(false);
  });

  it("interrupts JavaScript busy loops and bash commands, keeping state", async () => {
    await run({ language: "javascript", code: "var jsKept = 5;" });
    const js = run({ language: "javascript", code: "require('fs').writeFileSync('js-running', ''); while (true) {}" });
    await waitFile("js-running");
    await execd.post("/v1/contexts/default-javascript/interrupt", {});
    const jsAnswer = await js;
    expect(jsAnswer.exitCode).toBe(1);
    expect(jsAnswer.error?.message).toContain("interrupted");
    expect((await run({ language: "javascript", code: "jsKept" })).results[0]!.data).toBe("5");

    await run({ language: "bash", code: "BASH_KEPT=7" });
    const sh = run({ language: "bash", code: "touch sh-running; sleep 60; echo not-reached" });
    await waitFile("sh-running");
    await execd.post("/v1/contexts/default-bash/interrupt", {});
    const shAnswer = await sh;
    expect(shAnswer.exitCode).toBe(130);
    expect(shAnswer.stdout).not.toContain("not-reached");
    expect((await run({ language: "bash", code: "echo $BASH_KEPT" })).stdout).toBe("7\n");
  });

  it("kills a call that ignores the interrupt, and says the state was lost", async () => {
    const pending = run({
      code: "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nopen('stubborn', 'w').close()\ntime.sleep(60)",
    });
    await waitFile("stubborn");
    await execd.post("/v1/contexts/default/interrupt", {});
    const answer = await pending;
    expect(answer.error?.name).toBe("InterruptError");
    expect(answer.context.stateLost).toBe(true);
    expect((await run({ code: "1 + 1" })).results[0]!.data).toBe("2");
  });

  it("reports an interpreter killed mid-call (as the OOM killer does) and restarts it", async () => {
    await run({ code: "doomed = True" });
    const answer = await run({ code: "import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)" });
    expect(answer.stdout).toBe("bye\n");
    expect(answer.error?.name).toBe("InterpreterDied");
    expect(answer.error?.message).toContain("SIGKILL");
    expect(answer.context.stateLost).toBe(true);
    expect((await run({ code: "'doomed' in globals()" })).results[0]!.data).toBe("False");
  });

  it("reports an interpreter killed by the kernel's OOM killer (memory cgroup) and restarts it", async (ctx) => {
    const cgroup = await memoryCgroup();
    if (!cgroup) {
      console.warn("[execd/lifecycle] OOM test SKIPPED: no writable cgroup v1 memory controller");
      ctx.skip();
      return;
    }
    try {
      await execd.post("/v1/contexts", { language: "python", id: "oom" });
      await run({ context: "oom", code: "before_oom = 1" });
      const info = (await (await execd.request("/v1/contexts/oom")).json()) as ContextInfo & { pid: number };
      // Only the interpreter goes into the 200 MiB cgroup; the server stays outside it.
      await writeFile(path.join(cgroup, "memory.limit_in_bytes"), String(200 * 1024 * 1024));
      await writeFile(path.join(cgroup, "cgroup.procs"), String(info.pid));
      const answer = await run({
        context: "oom",
        code: "hog = []\nfor _ in range(100):\n    hog.append(bytearray(20 * 1024 * 1024))",
      });
      expect(answer.error?.name).toBe("InterpreterDied");
      expect(answer.error?.message).toContain("SIGKILL");
      expect(answer.context.stateLost).toBe(true);
      // The kernel says it was the OOM killer, not someone else's SIGKILL.
      expect(await readFile(path.join(cgroup, "memory.oom_control"), "utf8")).toMatch(/oom_kill 1/);
      expect((await run({ context: "oom", code: "'before_oom' in globals()" })).results[0]!.data).toBe("False");
    } finally {
      await execd.request("/v1/contexts/oom", { method: "DELETE" });
      await rmdir(cgroup).catch(() => undefined);
    }
  });

  it("reports state lost on the next call when the interpreter dies between calls", async () => {
    await run({ code: "import os, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.2), os._exit(3)), daemon=True).start()" });
    // Wait until the context notices the death (it restarts the interpreter by itself).
    for (let i = 0; i < 400; i++) {
      const info = (await (await execd.request("/v1/contexts/default")).json()) as ContextInfo;
      if (info.lastRestartReason?.includes("exited with code 3")) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const answer = await run({ code: "2 * 21" });
    expect(answer.results[0]!.data).toBe("42");
    expect(answer.context.stateLost).toBe(true);
    expect(answer.context.restartReason).toContain("exited with code 3");
  });

  it("runs calls on one context one at a time", async () => {
    await run({ context: "default", code: "order = []" });
    const slow = run({ code: "import time\norder.append('slow-start')\ntime.sleep(0.5)\norder.append('slow-end')" });
    const fast = run({ code: "order.append('fast')" });
    await Promise.all([slow, fast]);
    const order = (await run({ code: "order" })).results[0]!.data;
    expect(["['slow-start', 'slow-end', 'fast']", "['fast', 'slow-start', 'slow-end']"]).toContain(order);
  });

  it("runs different contexts in parallel", async () => {
    await execd.post("/v1/contexts", { language: "python", id: "waiter" });
    await execd.post("/v1/contexts", { language: "python", id: "signaller" });
    // The waiter only finishes if the signaller runs while it is still busy.
    const waiter = run({
      context: "waiter",
      code: "import os, time\nfor _ in range(600):\n    if os.path.exists('go-flag'):\n        break\n    time.sleep(0.05)\nos.path.exists('go-flag')",
      timeoutMs: 60_000,
    });
    await waitBusy("waiter");
    await run({ context: "signaller", code: "open('go-flag', 'w').close()" });
    expect((await waiter).results[0]!.data).toBe("True");
  });
});

describe("streaming", () => {
  it("streams stdout, stderr and results in the order they happen, then a summary", async () => {
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({
        code: [
          "import sys",
          "print('one', flush=True)",
          "print('two', file=sys.stderr, flush=True)",
          "print('three', flush=True)",
          "open('streamed.txt', 'w').write('s')",
          "'last'",
        ].join("\n"),
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const events = await readNdjson(res);
    const compact = events.map((e) => `${e.type}:${String(e.text ?? e.data ?? e.name ?? "").trim()}`);
    expect(compact).toEqual(["stdout:one", "stderr:two", "stdout:three", "result:'last'", "outputFile:streamed.txt", "summary:"]);
    expect(events.at(-1)).toMatchObject({ type: "summary", exitCode: 0, outputFiles: [{ name: "streamed.txt", size: 1 }] });
    expect(events[4]).toMatchObject({ content: Buffer.from("s").toString("base64") });
  });

  it("delivers early output before a slow call finishes", async () => {
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({
        code: "import os, time\nprint('early', flush=True)\nfor _ in range(600):\n    if os.path.exists('release'):\n        break\n    time.sleep(0.05)\nprint('late')",
      }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The call is still blocked on 'release', so this output can only have been streamed.
    expect(JSON.parse(first.split("\n")[0]!)).toEqual({ type: "stdout", text: "early\n" });
    await execd.request("/v1/files/release", { method: "PUT", body: "" });
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"late\\n"');
    expect(rest).toContain('"type":"summary"');
  });

  it("sends the head of a streamed call that stays silent, before the call ends", async () => {
    const headed = execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({
        code: "import os, time\nfor _ in range(600):\n    if os.path.exists('release-silent'):\n        break\n    time.sleep(0.05)\n'released'",
      }),
    });
    // The call prints nothing until release-silent exists, which is only written below.
    const res = await headed;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const during = (await (await execd.request("/v1/contexts/default")).json()) as { state: string };
    expect(during.state).toBe("busy");
    await execd.request("/v1/files/release-silent", { method: "PUT", body: "" });
    const events = await readNdjson(res);
    expect(events[0]).toMatchObject({ type: "result", data: "'released'" });
    expect(events.at(-1)).toMatchObject({ type: "summary", exitCode: 0 });
  });

  it("streams errors as an error event", async () => {
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ code: "raise KeyError('k')" }),
    });
    const events = await readNdjson(res);
    expect(events.find((e) => e.type === "error")).toMatchObject({ name: "KeyError", message: "'k'" });
    expect(events.at(-1)).toMatchObject({ type: "summary", exitCode: 1 });
  });
});
