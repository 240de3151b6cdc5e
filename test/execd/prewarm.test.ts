// The default Python context is started at boot (--prewarm), so an agent's first call on a
// fresh sandbox finds a running interpreter; --prewarm none keeps the lazy start.
import { afterEach, describe, expect, it } from "vitest";
import { startExecd, type ExecdProcess } from "./harness.js";

interface ContextInfo {
  id: string;
  language: string;
  state: string;
  pid: number | null;
}

let execd: ExecdProcess | undefined;
afterEach(async () => {
  await execd?.stop();
  execd = undefined;
});

/** Polls until `fn` returns a value (test assertion helper; the server itself never polls). */
async function waitFor<T>(fn: () => Promise<T | undefined | null | false | 0>, opts: { message: string; timeoutMs?: number }): Promise<T> {
  const end = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${opts.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function contexts(server: ExecdProcess): Promise<ContextInfo[]> {
  const res = await server.request("/v1/contexts");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { contexts?: ContextInfo[] } | ContextInfo[];
  return Array.isArray(body) ? body : (body.contexts ?? []);
}

describe("--prewarm", () => {
  it("starts the default python interpreter before the first call, and that call uses it", async () => {
    execd = await startExecd();
    const server = execd;
    const warm = await waitFor(async () => (await contexts(server)).find((c) => c.language === "python" && c.state === "idle" && c.pid), {
      message: "prewarmed python context",
    });
    const { status, body } = await server.post<{ stdout: string }>("/v1/execute", { code: "import os\nprint(os.getpid())" });
    expect(status).toBe(200);
    expect(Number(body.stdout.trim())).toBe(warm.pid);
  });

  it("then sends one no-op call through its own HTTP stack (with its token), which leaves no output, file or state", async () => {
    execd = await startExecd({ token: "warm-up-secret" });
    const server = execd;
    await waitFor(async () => server.logs.some((l) => l.includes("warm-up call answered")), { message: "the warm-up call's log line" });
    expect(server.logs.join("\n")).not.toContain("warm-up call was refused");
    // The default context is the warmed one and has no leftovers: nothing printed, no _ result.
    const { status, body } = await server.post<{ stdout: string; stderr: string; results: unknown[]; outputFiles?: unknown[] }>(
      "/v1/execute",
      {
        code: "print(sorted(k for k in globals() if not k.startswith('__')))",
      },
    );
    expect(status).toBe(200);
    expect(body.stdout.trim()).toBe("[]");
    expect(body.stderr).toBe("");
  });

  it("starts nothing with --prewarm none", async () => {
    execd = await startExecd({ args: ["--prewarm", "none"] });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await contexts(execd)).toEqual([]);
  });
});
