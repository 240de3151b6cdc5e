import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startExecd, type ErrorAnswer, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

const TOKEN = "files-token-ä-123";
const SMALL = 64 * 1024;

let execd: ExecdProcess;
/** A second server with a small --max-bytes for the 413 cases. */
let small: ExecdProcess;
let outside: string;

beforeAll(async () => {
  [execd, small] = await Promise.all([
    startExecd({ env: { EXECD_TOKEN: TOKEN } }),
    startExecd({ token: "small", tokenViaFile: true, args: ["--max-bytes", String(SMALL)] }),
  ]);
  outside = await mkdtemp(path.join(os.tmpdir(), "execd-outside-"));
  await writeFile(path.join(outside, "secret.txt"), "do not read");
  await symlink(outside, path.join(execd.workspace, "escape-dir"));
  await symlink(path.join(outside, "secret.txt"), path.join(execd.workspace, "escape-file"));
  await symlink(path.join(outside, "not-yet"), path.join(execd.workspace, "dangling"));
});
afterAll(async () => {
  await Promise.all([execd?.stop(), small?.stop()]);
  if (outside) await rm(outside, { recursive: true, force: true });
});

const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as ErrorAnswer;
  return { status: res.status, code: body.error.code, message: body.error.message };
}

describe("/v1/files", () => {
  it("puts, gets, lists and deletes files and directories", async () => {
    const put = await execd.request("/v1/files/data/nested/a.bin", { method: "PUT", body: Buffer.from([0, 1, 2, 255]) });
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ path: "data/nested/a.bin", size: 4 });
    expect((await execd.request("/v1/files/data/nested/a.bin", { method: "PUT", body: "x" })).status).toBe(200);
    await execd.request("/v1/files/data/nested/a.bin", { method: "PUT", body: Buffer.from([0, 1, 2, 255]) });

    const got = await execd.request("/v1/files/data/nested/a.bin");
    expect(got.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await got.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));

    const listing = (await (await execd.request("/v1/files/data")).json()) as {
      path: string;
      entries: Array<{ name: string; type: string; size: number }>;
    };
    expect(listing.path).toBe("data");
    expect(listing.entries).toEqual([expect.objectContaining({ name: "nested", type: "directory" })]);

    const notEmpty = await errorOf(await execd.request("/v1/files/data", { method: "DELETE" }));
    expect(notEmpty).toMatchObject({ status: 409, code: "directory_not_empty" });
    expect((await execd.request("/v1/files/data/nested/a.bin", { method: "DELETE" })).status).toBe(200);
    expect((await execd.request("/v1/files/data?recursive=true", { method: "DELETE" })).status).toBe(200);
    expect((await execd.request("/v1/files/data")).status).toBe(404);
  });

  it("is visible to code: a file put over HTTP is read by Python, and percent-encoded names work", async () => {
    await execd.request("/v1/files/with%20space.txt", { method: "PUT", body: "spaced" });
    const { body } = await execd.post<ExecuteAnswer>("/v1/execute", { code: "open('with space.txt').read()" });
    expect(body.results[0]!.data).toBe("'spaced'");
  });

  it("round-trips 100 MB through PUT/GET and through base64 JSON in /v1/execute", async () => {
    const data = randomBytes(100 * 1024 * 1024);
    const digest = sha(data);
    const put = await execd.request("/v1/files/big.bin", { method: "PUT", body: data });
    expect(put.status).toBe(201);
    const got = Buffer.from(await (await execd.request("/v1/files/big.bin")).arrayBuffer());
    expect(got.length).toBe(data.length);
    expect(sha(got)).toBe(digest);

    const { status, body } = await execd.post<ExecuteAnswer>("/v1/execute", {
      code: "import shutil, hashlib\nshutil.copyfile('in.bin', 'copy.bin')\nhashlib.sha256(open('in.bin','rb').read()).hexdigest()",
      files: [{ name: "in.bin", content: data.toString("base64") }],
    });
    expect(status).toBe(200);
    expect(body.results[0]!.data).toBe(`'${digest}'`);
    expect(body.outputFiles.map((f) => [f.name, f.size])).toEqual([["copy.bin", data.length]]);
    expect(sha(Buffer.from(body.outputFiles[0]!.content, "base64"))).toBe(digest);
    for (const name of ["big.bin", "in.bin", "copy.bin"]) await execd.request(`/v1/files/${name}`, { method: "DELETE" });
  });
});

describe("bad input", () => {
  it("401s without the bearer token (health stays open), from env EXECD_TOKEN or a token file", async () => {
    const health = await fetch(`${execd.url}/`);
    expect(health.status).toBe(200);
    for (const auth of [undefined, "Bearer wrong", `Basic ${TOKEN}`, "Bearer "]) {
      const res = await fetch(`${execd.url}/v1/contexts`, { headers: auth ? { authorization: auth } : {} });
      expect(await errorOf(res)).toMatchObject({ status: 401, code: "unauthorized" });
    }
    const upstream = await fetch(`${execd.url}/execute`, { method: "POST", body: JSON.stringify({ command: "true" }) });
    expect(upstream.status).toBe(401);
    expect((await small.request("/v1/contexts")).status).toBe(200);
    expect((await fetch(`${small.url}/v1/contexts`)).status).toBe(401);
    // The token never reaches user code.
    const { body } = await execd.post<ExecuteAnswer>("/v1/execute", {
      language: "bash",
      code: 'echo "[${EXECD_TOKEN:-}]"',
    });
    expect(body.stdout).toBe("[]\n");
  });

  it("400s malformed JSON, bad base64 and schema violations, naming the field", async () => {
    const post = (body: string) => execd.request("/v1/execute", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(await errorOf(await post("{not json"))).toMatchObject({ status: 400, code: "bad_request" });
    const badBase64 = await errorOf(await post(JSON.stringify({ code: "1", files: [{ name: "a", content: "@@@=" }] })));
    expect(badBase64.status).toBe(400);
    expect(badBase64.message).toContain("files.0.content");
    expect(badBase64.message).toContain("base64");
    const noCode = await errorOf(await post(JSON.stringify({ language: "python" })));
    expect(noCode).toMatchObject({ status: 400 });
    expect(noCode.message).toContain('"code"');
    const badLanguage = await errorOf(await post(JSON.stringify({ code: "1", language: "cobol" })));
    expect(badLanguage.message).toContain('"language"');
    const badTimeout = await errorOf(await post(JSON.stringify({ code: "1", timeoutMs: -5 })));
    expect(badTimeout.message).toContain('"timeoutMs"');
    const badEnv = await errorOf(await post(JSON.stringify({ code: "1", env: { "A-B": "x" } })));
    expect(badEnv.message).toContain("env");
    const badContext = await errorOf(
      await execd.request("/v1/contexts", { method: "POST", body: JSON.stringify({ language: "python", id: "../x" }) }),
    );
    expect(badContext).toMatchObject({ status: 400 });
    expect(badContext.message).toContain('"id"');
    const upstreamBad = await errorOf(await execd.request("/execute", { method: "POST", body: JSON.stringify({ cmd: "ls" }) }));
    expect(upstreamBad.message).toContain('"command"');
    // Nothing was lost: the default context still answers.
    expect((await execd.post<ExecuteAnswer>("/v1/execute", { code: "6 * 7" })).body.results[0]!.data).toBe("42");
  });

  it("decodes base64 file contents while streaming, chunk boundaries and key order notwithstanding", async () => {
    // Sent in 7-byte pieces so base64 groups and padding straddle chunk boundaries.
    const text = JSON.stringify({
      files: [
        { content: b64("ab"), name: "padded.txt" },
        { name: "nested/plain.txt", content: b64("xyz123") },
      ],
      env: { files: "not a file list" },
      code: "print(open('padded.txt').read() + open('nested/plain.txt').read())",
    });
    const bytes = Buffer.from(text);
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) controller.close();
        else {
          controller.enqueue(bytes.subarray(offset, offset + 7));
          offset += 7;
        }
      },
    });
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(((await res.json()) as ExecuteAnswer).stdout).toBe("abxyz123\n");

    for (const content of ["YW=j", "YQ==YQ==", "YWJ", "Y Q==", "YQ=\u0000"]) {
      const bad = await execd.post<ErrorAnswer>("/v1/execute", { code: "1", files: [{ name: "bad.bin", content }] });
      expect(bad.status, content).toBe(400);
      expect(bad.body.error.message).toContain("files.0.content");
    }
    const truncated = await execd.request("/v1/execute", { method: "POST", body: '{"code": "1", "files": [{"name": "t", "content": "YW' });
    expect(await errorOf(truncated)).toMatchObject({ status: 400, code: "bad_request" });
    expect((await execd.request("/v1/files/bad.bin")).status).toBe(404);
  });

  it("403s names that escape the workspace: .., absolute, symlinks out, NUL bytes", async () => {
    const escapes = ["../etc/passwd", "a/../../x", "/etc/passwd", "escape-dir/secret.txt", "escape-file", "dangling", "a\u0000b"];
    for (const name of escapes) {
      const { status, body } = await execd.post<ErrorAnswer>("/v1/execute", { code: "1", files: [{ name, content: b64("x") }] });
      expect(status, name).toBe(403);
      expect(body.error.code).toBe("path_forbidden");
    }
    for (const raw of ["/v1/files/..%2Fetc%2Fpasswd", "/v1/files/%2Fetc%2Fpasswd", "/v1/files/escape-dir/secret.txt", "/v1/files/a%00b"]) {
      expect((await execd.request(raw)).status, raw).toBe(403);
      expect((await execd.request(raw, { method: "PUT", body: "x" })).status, raw).toBe(403);
      expect((await execd.request(raw, { method: "DELETE" })).status, raw).toBe(403);
    }
    // A literal ../ in the request line (fetch would normalise it away, node:http does not)
    // reaches the server unchanged and is refused, not resolved.
    const literal = await new Promise<number>((resolve, reject) => {
      const url = new URL(execd.url);
      http
        .get(
          { host: url.hostname, port: url.port, path: "/v1/files/../../etc/passwd", headers: { authorization: `Bearer ${TOKEN}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on("error", reject);
    });
    expect(literal).toBe(403);
    expect((await execd.request("/v1/files/dangling", { method: "PUT", body: "x" })).status).toBe(403);
  });

  it("404s missing files and contexts", async () => {
    expect(await errorOf(await execd.request("/v1/files/nope.txt"))).toMatchObject({ status: 404, code: "not_found" });
    expect((await execd.request("/v1/files/nope.txt", { method: "DELETE" })).status).toBe(404);
    expect((await execd.request("/v1/contexts/nope")).status).toBe(404);
    expect((await execd.request("/v1/contexts/nope/restart", { method: "POST" })).status).toBe(404);
    expect((await execd.request("/v1/contexts/nope/interrupt", { method: "POST" })).status).toBe(404);
    expect((await execd.post("/v1/execute", { code: "1", context: "nope" })).status).toBe(404);
    expect((await execd.request("/no/such/route")).status).toBe(404);
    expect((await execd.request("/v1/execute", { method: "GET" })).status).toBe(405);
  });

  it("413s requests and responses over --max-bytes, and the server carries on", async () => {
    const over = randomBytes(SMALL + 1);
    const put = await small.request("/v1/files/over.bin", { method: "PUT", body: over });
    expect(await errorOf(put)).toMatchObject({ status: 413, code: "payload_too_large" });
    expect((await small.request("/v1/files/over.bin")).status).toBe(404);

    const json = await small.post<ErrorAnswer>("/v1/execute", {
      code: "1",
      files: [{ name: "big.bin", content: randomBytes(SMALL * 2).toString("base64") }],
    });
    expect(json.status).toBe(413);
    expect((await small.request("/v1/files/big.bin")).status).toBe(404);

    const response = await small.post<ErrorAnswer>("/v1/execute", {
      code: "open('made.bin', 'wb').write(b'x' * (2 * 65536))",
    });
    expect(response.status).toBe(413);
    expect(response.body.error.message).toContain("made.bin");
    // The call itself ran; its file stays in the workspace (too big to download here too).
    expect((await small.request("/v1/files/made.bin")).status).toBe(413);
    const listing = (await (await small.request("/v1/files/")).json()) as { entries: Array<{ name: string; size: number }> };
    expect(listing.entries).toContainEqual(expect.objectContaining({ name: "made.bin", size: 2 * 65536 }));

    const upload = new FormData();
    upload.append("file", new Blob([over]), "over-upload.bin");
    const uploaded = await small.request("/upload", { method: "POST", body: upload });
    expect(uploaded.status).toBe(413);
    expect((await small.request("/exists/over-upload.bin").then((r) => r.json())) as { exists: boolean }).toEqual({
      path: "over-upload.bin",
      exists: false,
    });
    expect((await small.post<ExecuteAnswer>("/v1/execute", { code: "'alive'" })).body.results[0]!.data).toBe("'alive'");
  });
});
