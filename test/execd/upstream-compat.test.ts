import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExecd, type ExecdProcess } from "./harness.js";

// The JSON bodies below are those of kubernetes-sigs/agent-sandbox's python runtime
// (examples/python-runtime-sandbox), whose clients must work against sandbox-execd unchanged.
let execd: ExecdProcess;

beforeAll(async () => {
  execd = await startExecd();
});
afterAll(async () => {
  await execd?.stop();
});

describe("upstream runtime endpoints", () => {
  it("GET / is the health check", async () => {
    const res = await execd.request("/");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", message: "Sandbox Runtime is active." });
  });

  it("POST /execute runs through a real shell in the workspace and returns stdout, stderr, exit_code", async () => {
    const { status, body } = await execd.post("/execute", {
      command: "echo hello | tr a-z A-Z > shout.txt && cat shout.txt; echo oops >&2; pwd; exit 3",
    });
    expect(status).toBe(200);
    expect(body).toEqual({ stdout: `HELLO\n${execd.workspace}\n`, stderr: "oops\n", exit_code: 3 });
    expect(Object.keys(body)).toEqual(["stdout", "stderr", "exit_code"]);
    // Stateless like upstream: a variable set in one call is gone in the next.
    await execd.post("/execute", { command: "X=1" });
    expect((await execd.post("/execute", { command: 'echo "[$X]"' })).body).toMatchObject({ stdout: "[]\n" });
  });

  it("POST /execute honours timeout_seconds: the command is killed and the answer says timed_out", async () => {
    const started = Date.now();
    const { status, body } = await execd.post("/execute", {
      command: "echo before; sleep 30 & sleep 30; echo never",
      timeout_seconds: 1,
    });
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(body).toMatchObject({ stdout: "before\n", exit_code: 137, timed_out: true });
    expect((body as { stderr: string }).stderr).toContain("Command timed out after 1 seconds");
    // A command within its limit answers as before, without the field.
    const quick = await execd.post("/execute", { command: "echo ok", timeout_seconds: 5 });
    expect(quick.body).toEqual({ stdout: "ok\n", stderr: "", exit_code: 0 });
    expect((await execd.post("/execute", { command: "true", timeout_seconds: -1 })).status).toBe(400);
  });

  it("POST /upload stores the multipart `file` part under its filename, creating parents", async () => {
    const form = new FormData();
    form.append("file", new Blob(["uploaded bytes"]), "docs/notes.txt");
    const res = await execd.request("/upload", { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "File 'docs/notes.txt' uploaded successfully." });
    const escape = new FormData();
    escape.append("file", new Blob(["x"]), "../escape.txt");
    const denied = await execd.request("/upload", { method: "POST", body: escape });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ message: "Access denied" });
    const empty = await execd.request("/upload", { method: "POST", body: new FormData() });
    expect(empty.status).toBe(400);
  });

  it("GET /download/{path} returns the bytes, or 404 File not found", async () => {
    const res = await execd.request("/download/docs/notes.txt");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(await res.text()).toBe("uploaded bytes");
    const missing = await execd.request("/download/docs/missing.txt");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "File not found" });
    const directory = await execd.request("/download/docs");
    expect(directory.status).toBe(404);
    expect((await execd.request("/download/..%2F..%2Fetc%2Fpasswd")).status).toBe(403);
  });

  it("GET /list/{path} returns [{name, size, type, mod_time}]", async () => {
    await execd.post("/execute", { command: "mkdir -p docs/sub" });
    const res = await execd.request("/list/docs");
    expect(res.status).toBe(200);
    const entries = (await res.json()) as Array<Record<string, unknown>>;
    expect(entries).toEqual([
      { name: "notes.txt", size: 14, type: "file", mod_time: expect.any(Number) },
      { name: "sub", size: expect.any(Number), type: "directory", mod_time: expect.any(Number) },
    ]);
    expect(entries[0]!.mod_time as number).toBeGreaterThan(1_600_000_000);
    const notDir = await execd.request("/list/docs/notes.txt");
    expect(notDir.status).toBe(404);
  });

  it("GET /exists/{path} returns {path, exists}", async () => {
    expect(await (await execd.request("/exists/docs/notes.txt")).json()).toEqual({ path: "docs/notes.txt", exists: true });
    expect(await (await execd.request("/exists/docs/none.txt")).json()).toEqual({ path: "docs/none.txt", exists: false });
  });

  it("shares one workspace with the /v1 API", async () => {
    const res = await execd.post<{ results: Array<{ data: string }> }>("/v1/execute", {
      code: "open('docs/notes.txt').read()",
    });
    expect(res.body.results[0]!.data).toBe("'uploaded bytes'");
  });
});
