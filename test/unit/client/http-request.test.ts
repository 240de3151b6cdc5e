import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest } from "../../../src/client/http-request.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
const handlers = new Map<string, Handler>();
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handlers.get(new URL(req.url ?? "/", "http://x").pathname)?.(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("httpRequest", () => {
  it("sends method, headers and body, and answers a Response with status, headers and body", async () => {
    handlers.set("/echo", (req, res, body) => {
      res.writeHead(201, "Made", { "content-type": "application/json", "x-seen": String(req.headers["x-custom"]) });
      res.end(JSON.stringify({ method: req.method, length: req.headers["content-length"], body: body.toString() }));
    });
    const res = await httpRequest(`${base}/echo?q=1`, {
      method: "POST",
      headers: { "x-custom": "yes", "content-type": "text/plain" },
      body: "héllo",
    });
    expect(res.status).toBe(201);
    expect(res.statusText).toBe("Made");
    expect(res.ok).toBe(true);
    expect(res.headers.get("x-seen")).toBe("yes");
    expect(await res.json()).toEqual({ method: "POST", length: String(Buffer.byteLength("héllo")), body: "héllo" });
  });

  it("reuses the connection for the next request", async () => {
    handlers.set("/port", (req, res) => res.end(String(req.socket.remotePort)));
    const first = await (await httpRequest(`${base}/port`)).text();
    const second = await (await httpRequest(`${base}/port`)).text();
    expect(second).toBe(first);
  });

  it("streams the response body as the server writes it", async () => {
    let release: () => void = () => undefined;
    handlers.set("/stream", (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write('{"n":1}\n');
      release = () => res.end('{"n":2}\n');
    });
    const res = await httpRequest(`${base}/stream`);
    const reader = res.body!.getReader();
    // The server has not ended the body: this chunk can only have been streamed.
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('{"n":1}\n');
    release();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('{"n":2}\n');
    expect((await reader.read()).done).toBe(true);
  });

  it("uploads a ReadableStream body", async () => {
    handlers.set("/upload", (_req, res, body) => res.end(String(body.length)));
    const chunks = [Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)];
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(new Uint8Array(chunk));
        c.close();
      },
    });
    expect(await (await httpRequest(`${base}/upload`, { method: "PUT", body: stream })).text()).toBe("100000");
  });

  it("answers 204 and HEAD with no body", async () => {
    handlers.set("/empty", (req, res) => {
      res.writeHead(req.method === "HEAD" ? 200 : 204);
      res.end();
    });
    const none = await httpRequest(`${base}/empty`, { method: "DELETE" });
    expect(none.status).toBe(204);
    expect(none.body).toBeNull();
    const head = await httpRequest(`${base}/empty`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("rejects with the signal's reason when aborted before the answer, and fails the body when aborted during it", async () => {
    handlers.set("/slow", () => undefined); // never answers
    const early = new AbortController();
    const pending = httpRequest(`${base}/slow`, { signal: early.signal });
    early.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await expect(httpRequest(`${base}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: "TimeoutError" });

    handlers.set("/half", (_req, res) => {
      res.writeHead(200);
      res.write("part");
    });
    const late = new AbortController();
    const res = await httpRequest(`${base}/half`, { signal: late.signal });
    const reader = res.body!.getReader();
    await reader.read();
    late.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("reports an unreachable server as fetch does: TypeError('fetch failed') with the system error as cause", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = await httpRequest(`http://127.0.0.1:${port}/`).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toBe("fetch failed");
    expect((failure as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
  });

  it("refuses URL schemes other than http and https", async () => {
    await expect(httpRequest("ftp://example.invalid/")).rejects.toThrow(/unsupported URL scheme/);
  });
});
