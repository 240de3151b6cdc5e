// A sandbox whose pod is restarted (gVisor's sandbox OOM-killed by the host, for example)
// comes back with a fresh server and fresh interpreters. The first call on each default
// context must say that its state is gone, rather than look like a context that never had any.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExecd, type ExecuteAnswer } from "./harness.js";

let dir: string;
let marker: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "execd-boot-"));
  marker = path.join(dir, "boots");
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("--boot-marker", () => {
  it("a first boot reports nothing lost; after a restart every default context's first call reports stateLost once", async () => {
    const first = await startExecd({ token: "t", args: ["--boot-marker", marker] });
    try {
      const fresh = await first.post<ExecuteAnswer>("/v1/execute", { code: "x = 1" });
      expect(fresh.body.context.stateLost).toBe(false);
    } finally {
      // Killed, not stopped: the server gets no chance to clean up, as in an OOM kill.
      first.child.kill("SIGKILL");
      await first.stop();
    }
    // The count, and the kernel's boot time.
    expect((await readFile(marker, "utf8")).trim()).toMatch(/^1 \d+$/);

    const second = await startExecd({ token: "t", args: ["--boot-marker", marker] });
    try {
      const python = await second.post<ExecuteAnswer>("/v1/execute", { code: "'x' in globals()" });
      expect(python.status).toBe(200);
      expect(python.body.results[0]?.data).toBe("False");
      expect(python.body.context.stateLost).toBe(true);
      // The same kernel booted both: the server's container restarted, the sandbox did not.
      expect(python.body.context.restartReason).toMatch(/execution server restarted \(boot 2 of this pod: its container was restarted/);
      const bash = await second.post<ExecuteAnswer>("/v1/execute", { code: "echo hi", language: "bash" });
      expect(bash.body.context.stateLost).toBe(true);
      // Reported once per context.
      const again = await second.post<ExecuteAnswer>("/v1/execute", { code: "1" });
      expect(again.body.context.stateLost).toBe(false);
      // A context created after the restart starts with nothing to lose.
      await second.post("/v1/contexts", { language: "python", id: "new" });
      const created = await second.post<ExecuteAnswer>("/v1/execute", { code: "1", context: "new" });
      expect(created.body.context.stateLost).toBe(false);
    } finally {
      await second.stop();
    }
    expect((await readFile(marker, "utf8")).trim()).toMatch(/^2 \d+$/);
  });
});

describe("--restart-notice", () => {
  it("a pod that replaces an ended one reports the operator's notice on each default context's first call, once", async () => {
    const notice = "this sandbox's pod was replaced after the previous one ended (Evicted: disk)";
    const server = await startExecd({ token: "t", args: ["--boot-marker", path.join(dir, "replaced-boots"), "--restart-notice", notice] });
    try {
      const python = await server.post<ExecuteAnswer>("/v1/execute", { code: "1 + 1" });
      expect(python.status).toBe(200);
      expect(python.body.context.stateLost).toBe(true);
      expect(python.body.context.restartReason).toBe(notice);
      const javascript = await server.post<ExecuteAnswer>("/v1/execute", { code: "1", language: "javascript" });
      expect(javascript.body.context.restartReason).toBe(notice);
      const again = await server.post<ExecuteAnswer>("/v1/execute", { code: "1" });
      expect(again.body.context.stateLost).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
