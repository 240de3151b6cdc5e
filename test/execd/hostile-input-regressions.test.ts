// Plain regression tests for bugs the property-based tests (fuzz-*.test.ts) found; each
// names the counterexample fast-check reported.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startExecd, type ErrorAnswer, type ExecdProcess, type ExecuteAnswer } from "./harness.js";
import { jsonOf, rawRequest } from "./raw-http.js";

let execd: ExecdProcess;
beforeAll(async () => {
  execd = await startExecd({ token: "regressions" });
  const planted = await execd.post<ExecuteAnswer>("/v1/execute", {
    code: "import os\nos.symlink('loop-b', 'loop-a')\nos.symlink('loop-a', 'loop-b')",
  });
  expect(planted.status).toBe(200);
  const listing = (await (await execd.request("/v1/files/")).json()) as { entries: Array<{ name: string; type: string }> };
  expect(listing.entries.map((e) => [e.name, e.type])).toContainEqual(["loop-a", "symlink"]);
});
afterAll(async () => {
  await execd?.stop();
});

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as ErrorAnswer;
  return { status: res.status, code: body.error.code, message: body.error.message };
}

describe("hostile names", () => {
  // fast-check: GET /v1/files/loop-a answered 500 "ELOOP: too many symbolic links encountered".
  it("403s a path through a symlink loop planted by user code, on every file route", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await execd.request("/v1/files/loop-a/x", { method, ...(method === "PUT" ? { body: "x" } : {}) });
      expect(await errorOf(res), method).toMatchObject({
        status: 403,
        code: "path_forbidden",
        message: expect.stringContaining("symlink loop"),
      });
    }
    const upstream = await execd.request("/download/loop-a");
    expect(upstream.status).toBe(403);
    const json = await execd.post<ErrorAnswer>("/v1/execute", { code: "1", files: [{ name: "loop-a", content: b64("x") }] });
    expect(json.status).toBe(403);
  });

  // fast-check: a 4200-character segment answered 500 "ENAMETOOLONG".
  it("400s names longer than the filesystem holds, naming the problem", async () => {
    const long = "a".repeat(300);
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await execd.request(`/v1/files/${long}`, { method, ...(method === "PUT" ? { body: "x" } : {}) });
      expect(await errorOf(res), method).toMatchObject({ status: 400, code: "name_too_long" });
    }
    // A name that fits, but not with the temporary upload suffix, is still the client's 400.
    const edge = await execd.request(`/v1/files/${"b".repeat(250)}`, { method: "PUT", body: "x" });
    expect(edge.status).toBe(400);
    const json = await execd.post<ErrorAnswer>("/v1/execute", { code: "1", files: [{ name: long, content: b64("x") }] });
    expect(json).toMatchObject({ status: 400, body: { error: { code: "name_too_long" } } });
    expect((await execd.request("/")).status).toBe(200);
  });
});

describe("refused JSON bodies", () => {
  // fast-check: {"files":[{"name":"ok.txt","content":"eA=="},{"name":"x","content":" "}]} left
  // tmp/execd-*/input-<hex> behind now and then: the refused spill's file was removed while
  // its stream was still opening, and the open re-created it.
  it("leave no decoded file in the server's scratch directory, however quickly they are refused", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "execd-scratch-"));
    const server = await startExecd({ env: { TMPDIR: tmp }, args: ["--prewarm", "none"] });
    try {
      const [scratch] = (await readdir(tmp)).filter((name) => name.startsWith("execd-"));
      expect(scratch).toBeDefined();
      for (let i = 0; i < 500; i++) {
        const files =
          i % 2
            ? [{ name: "x", content: " " }]
            : [
                { name: "ok.txt", content: "eA==" },
                { name: "x", content: "a" },
              ];
        const res = await server.post<ErrorAnswer>("/v1/execute", { code: "1", files });
        expect(res.status).toBe(400);
        expect(res.body.error.message).toContain("content");
        expect(await readdir(path.join(tmp, scratch!)), `request ${i}`).toEqual([]);
      }
    } finally {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

describe("truncated multipart uploads", () => {
  // fast-check: POST /upload with "--b\r\nContent-Disposition: form-data; name=\"file\";
  // filename=\"over-a\"\r\n\r\ndata\r\n" (no closing boundary) killed the server: busboy
  // failed the part's stream while the path was still being checked, with no listener on it.
  it("answer 400 and the server lives on, without a half-written file", async () => {
    for (const filename of ["cut.txt", "new/dirs/cut.txt", ...Array.from({ length: 30 }, (_, i) => `again-${i}.txt`)]) {
      const body = `--b\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\ndata\r\n`;
      const res = await execd.request("/upload", { method: "POST", headers: { "content-type": "multipart/form-data; boundary=b" }, body });
      expect(await errorOf(res)).toMatchObject({ status: 400, message: expect.stringContaining("Unexpected end of form") });
      expect(execd.child.exitCode).toBeNull();
      expect((await execd.request(`/exists/${filename}`)).status).toBe(200);
      expect(await (await execd.request(`/exists/${filename}`)).json()).toEqual({ path: filename, exists: false });
    }
    // fast-check, same input: the part's temporary file was removed while still being opened
    // and came back, or the answer went out before it was removed.
    const listing = (await (await execd.request("/v1/files/")).json()) as { entries: Array<{ name: string }> };
    expect(listing.entries.filter((e) => e.name.includes(".execd-upload-"))).toEqual([]);
    expect((await execd.request("/")).status).toBe(200);
  });
});

describe("requests node's HTTP parser refuses", () => {
  // fast-check: a 17 KiB header got node's bare "431" with no body, a bad method a bare
  // "400", and CONNECT a dropped connection; every other refusal is a JSON error.
  it("get a JSON error naming what was wrong", async () => {
    const port = Number(new URL(execd.url).port);
    const auth: [string, string] = ["Authorization", "Bearer regressions"];
    const cases: Array<[Parameters<typeof rawRequest>[1], number, string]> = [
      [{ method: "GET", target: "/v1/status", headers: [auth, ["X-Big", "a".repeat(17 * 1024)]] }, 431, "headers_too_large"],
      [{ method: "G3T", target: "/v1/status", headers: [auth] }, 400, "bad_method"],
      [{ method: "GET", target: "/v1/files/a\u0001b", headers: [auth] }, 400, "bad_target"],
      [{ method: "GET", target: "/v1/status", headers: [auth, ["Bad Header", "x"]] }, 400, "bad_header"],
      [
        { method: "POST", target: "/v1/execute", headers: [auth, ["Content-Length", "5"], ["Content-Length", "6"]], body: "{}" },
        400,
        "bad_framing",
      ],
      [{ method: "CONNECT", target: "example.com:443", headers: [auth] }, 405, "method_not_allowed"],
    ];
    for (const [req, status, code] of cases) {
      const res = await rawRequest(port, req);
      expect(res.status, req.method).toBe(status);
      expect(res.headers["content-type"]).toBe("application/json");
      expect(jsonOf(res), req.method).toMatchObject({ error: { code, message: expect.any(String) } });
    }
    expect((await execd.request("/")).status).toBe(200);
  });
});

describe("a refused request whose body is still arriving", () => {
  // fast-check: POST /v1/execute with a 9 MiB body on a server whose JSON limit is 8.1 MiB
  // was answered 413 and closed at once; the kernel reset the connection under the client,
  // which was still sending, and the client never saw the answer.
  it("is answered after its body was read, so the client gets the 413", async () => {
    const small = await startExecd({ token: "small", args: ["--max-bytes", "65536", "--prewarm", "none"] });
    try {
      const port = Number(new URL(small.url).port);
      const body = JSON.stringify({ code: "x".repeat(9 * 1024 * 1024) });
      for (let i = 0; i < 3; i++) {
        const res = await rawRequest(port, { method: "POST", target: "/v1/execute", headers: [["Authorization", "Bearer small"]], body });
        expect(res.status).toBe(413);
        expect(jsonOf(res)).toMatchObject({ error: { code: "payload_too_large", message: expect.stringContaining("limit") } });
      }
      // A client that declares more than it sends is answered once it goes quiet.
      const liar = await rawRequest(port, {
        method: "PUT",
        target: "/v1/files/x",
        headers: [
          ["Authorization", "Bearer small"],
          ["Content-Length", "100000"],
        ],
        body: "tiny",
        contentLength: false,
      });
      expect(liar.status).toBe(413);
    } finally {
      await small.stop();
    }
  });
});
