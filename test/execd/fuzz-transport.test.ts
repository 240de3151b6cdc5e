// Property-based: the HTTP layer itself under abuse: odd methods, huge headers, raw bytes in
// the request line, bad credentials, broken framing, bodies past the limits and malformed
// multipart. Every answer is a JSON 4xx (never a 5xx or a bare connection drop), nothing
// half-written is left behind, and the server keeps serving.
import { readdir } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64 } from "./harness.js";
import {
  auth,
  errorMessage,
  expectOutsideUntouched,
  expectServerHealthy,
  expectWellFormed,
  FUZZ_MAX_BYTES,
  FUZZ_TOKEN,
  startFuzzWorld,
  type FuzzWorld,
} from "./fuzz-fixture.js";
import { rawRequest, serialize, type RawRequest, type RawResponse } from "./raw-http.js";

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world?.stop();
});

const ROUTES = [
  "/",
  "/healthz",
  "/execute",
  "/upload",
  "/download/inside/file.txt",
  "/list",
  "/exists/x",
  "/v1/status",
  "/v1/execute",
  "/v1/executeCode",
  "/v1/contexts",
  "/v1/contexts/default",
  "/v1/contexts/default/restart",
  "/v1/files/inside/file.txt",
  "/no/such/route",
];
const ODD_METHODS = [
  "PATCH",
  "OPTIONS",
  "TRACE",
  "PROPFIND",
  "MKCOL",
  "LOCK",
  "PURGE",
  "SEARCH",
  "REPORT",
  "LINK",
  "CONNECT",
  "FOO",
  "get",
  "G3T",
  "GET GET",
  "P\u00d6ST",
];

/** Workspace files the server writes while an upload is in flight (they must not survive). */
async function leftovers(): Promise<string[]> {
  // Walked by hand: readdir's recursive option descends into the planted link to "/".
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.includes(".execd-upload-") || entry.name.startsWith("over-")) found.push(path.join(dir, entry.name));
      if (entry.isDirectory()) await walk(path.join(dir, entry.name));
    }
  };
  await walk(world.workspace);
  return found;
}

const send = (req: RawRequest): Promise<RawResponse> => rawRequest(world.port, req, 10_000);

/** Checks an answer and that the server is still well: every property ends each run with this. */
async function check(res: RawResponse, what: string): Promise<void> {
  expectWellFormed(world, res, what);
  expect(res.status, `${what}: no answer, the connection was dropped`).not.toBe(0);
}

describe("fuzzed HTTP transport", () => {
  it("odd methods and raw bytes in the request line get a JSON 4xx", async () => {
    const rawTarget = fc.oneof(
      fc.constantFrom(...ROUTES),
      fc
        .tuple(fc.constantFrom(...ROUTES), fc.string({ unit: "binary", minLength: 1, maxLength: 6 }))
        .map(([route, junk]) => Buffer.from(`${route}${junk}`, "utf8").toString("latin1")),
      fc.constantFrom(
        "*",
        "http://evil.invalid/v1/files/x",
        "//v1/files/x",
        "/v1/files/%",
        "/v1/files/\u0000",
        "/v1/files/a\tb",
        "/v1/files/a\\b",
        "/v1/files/#frag",
        "",
        "v1/files/x",
        "/v1/files/\u007f",
      ),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ODD_METHODS, "GET", "POST", "PUT", "DELETE"), rawTarget, async (method, target) => {
        runs++;
        const what = `${JSON.stringify(method)} ${JSON.stringify(target)}`;
        const res = await send({
          method: Buffer.from(method, "utf8").toString("latin1"),
          target,
          headers: [auth],
          ...(method === "PUT" ? { body: "x" } : {}),
        });
        await check(res, what);
      }),
      { seed: 0x5eed05, numRuns: 400 },
    );
    console.log(`fuzz-transport request lines: ${runs}`);
    await expectServerHealthy(world);
    await expectOutsideUntouched(world);
  });

  it("huge headers, bad credentials and broken framing get a JSON 4xx", async () => {
    // Generated as [size, shape] and built in the property, so a counterexample prints short.
    const hugeHeaders = fc.tuple(fc.integer({ min: 17 * 1024, max: 256 * 1024 }), fc.constantFrom("one", "many", "url", "auth"));
    const buildHuge = ([size, shape]: [number, string]): RawRequest => {
      switch (shape) {
        case "one":
          return { method: "GET", target: "/v1/status", headers: [auth, ["X-Big", "a".repeat(size)]] };
        case "many":
          return {
            method: "GET",
            target: "/v1/status",
            headers: [auth, ...Array.from({ length: Math.ceil(size / 64) }, (_, i): [string, string] => [`X-H${i}`, "b".repeat(56)])],
          };
        case "url":
          return { method: "GET", target: `/v1/files/${"c".repeat(size)}`, headers: [auth] };
        default:
          return { method: "GET", target: "/v1/status", headers: [["Authorization", `Bearer ${"d".repeat(size)}`]] };
      }
    };
    const badAuth = fc
      .oneof(
        fc.constantFrom(
          "",
          "Bearer",
          "Bearer ",
          "Basic Zm9vOmJhcg==",
          `Bearer ${FUZZ_TOKEN}x`,
          `Bearer x${FUZZ_TOKEN}`,
          `Token ${FUZZ_TOKEN}`,
          `Bearer ${FUZZ_TOKEN.toUpperCase()}`,
          "Bearer \u00e9\u00e9",
        ),
        fc.string({ unit: "grapheme-ascii", maxLength: 40 }).map((s) => `Bearer ${s}`),
      )
      .filter((header) => header.trim() !== `Bearer ${FUZZ_TOKEN}`)
      .map((header): RawRequest => ({ method: "POST", target: "/v1/execute", headers: [["Authorization", header]], body: '{"code":"1"}' }));
    const framing = fc.constantFrom<RawRequest>(
      {
        method: "POST",
        target: "/v1/execute",
        headers: [auth, ["Transfer-Encoding", "chunked"], ["Content-Length", "5"]],
        body: "0\r\n\r\n",
        contentLength: false,
      },
      { method: "POST", target: "/v1/execute", headers: [auth, ["Transfer-Encoding", "chunked"]], body: "zz\r\nabc\r\n0\r\n\r\n" },
      { method: "POST", target: "/v1/execute", headers: [auth, ["Content-Length", "5"], ["Content-Length", "6"]], body: "{}" },
      { method: "POST", target: "/v1/execute", headers: [auth, ["Content-Length", "-1"]], body: "{}", contentLength: false },
      { method: "POST", target: "/v1/execute", headers: [auth, ["Content-Length", "abc"]], body: "{}", contentLength: false },
      { method: "POST", target: "/v1/execute", headers: [auth, ["Transfer-Encoding", "gzip"]], body: "{}" },
      { method: "GET", target: "/v1/status", headers: [auth, ["Bad Header", "x"]] },
      { method: "GET", target: "/v1/status", headers: [auth, ["X-Nul", "a\u0000b"]] },
      { method: "GET", target: "/v1/status", headers: [auth, ["X-Ctl", "a\u0001b"]] },
      { method: "GET", target: "/v1/status", headers: [auth, ["Upgrade", "websocket"], ["Connection", "Upgrade"]] },
      { method: "GET", target: "/v1/status", headers: [auth, ["Expect", "100-continue"]] },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hugeHeaders.map((huge) => ({ huge, kind: "huge" })),
          badAuth.map((req) => ({ req, kind: "auth" })),
          framing.map((req) => ({ req, kind: "framing" })),
        ),
        async (input) => {
          runs++;
          const kind = input.kind;
          const req = "huge" in input ? buildHuge(input.huge) : input.req;
          const what = `${kind}: ${req.method} ${req.target.slice(0, 60)} ${JSON.stringify(req.headers?.map(([n, v]) => [n, v.slice(0, 40)]).slice(0, 3))} (${serialize(req).length} bytes)`;
          const res = await send(req);
          await check(res, what);
          // Wrong credentials are refused before anything runs.
          if (kind === "auth") expect(res.status, what).toBe(401);
          if (kind === "huge") expect(res.status, what).toBeGreaterThanOrEqual(400);
        },
      ),
      { seed: 0x5eed06, numRuns: 300 },
    );
    console.log(`fuzz-transport headers, credentials, framing: ${runs}`);
    await expectServerHealthy(world);
    await expectOutsideUntouched(world);
  });

  it("bodies past --max-bytes get 413 and leave no file, whichever way they arrive", async () => {
    const over = fc.integer({ min: FUZZ_MAX_BYTES + 1, max: FUZZ_MAX_BYTES * 4 });
    const route = fc.constantFrom("put", "put-chunked", "put-declared", "upload", "json-files", "execute-code-files");
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(route, over, fc.nat(), async (kind, size, n) => {
        runs++;
        const name = `over-${n}.bin`;
        const bytes = Buffer.alloc(size, 0x61);
        let req: RawRequest;
        switch (kind) {
          case "put":
            req = { method: "PUT", target: `/v1/files/${name}`, headers: [auth], body: bytes };
            break;
          case "put-chunked": {
            const chunks = [bytes.subarray(0, size >> 1), bytes.subarray(size >> 1)].map((c) =>
              Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from("\r\n")]),
            );
            req = {
              method: "PUT",
              target: `/v1/files/${name}`,
              headers: [auth, ["Transfer-Encoding", "chunked"]],
              body: Buffer.concat([...chunks, Buffer.from("0\r\n\r\n")]),
              contentLength: false,
            };
            break;
          }
          case "put-declared":
            // Declares the size and sends only a little: refused before reading.
            req = {
              method: "PUT",
              target: `/v1/files/${name}`,
              headers: [auth, ["Content-Length", String(size)]],
              body: "tiny",
              contentLength: false,
            };
            break;
          case "upload": {
            const boundary = "overBoundary";
            const body = Buffer.concat([
              Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n\r\n`),
              bytes,
              Buffer.from(`\r\n--${boundary}--\r\n`),
            ]);
            req = {
              method: "POST",
              target: "/upload",
              headers: [auth, ["Content-Type", `multipart/form-data; boundary=${boundary}`]],
              body,
            };
            break;
          }
          case "json-files":
            req = {
              method: "POST",
              target: "/v1/execute",
              headers: [auth],
              body: JSON.stringify({ code: "1", files: [{ name, content: b64(bytes) }] }),
            };
            break;
          default:
            req = {
              method: "POST",
              target: "/v1/executeCode",
              headers: [auth],
              body: JSON.stringify({
                code: "",
                files: [
                  { name: `${name}.a`, content: b64(bytes.subarray(0, size >> 1)) },
                  { name, content: b64(bytes.subarray(size >> 1)) },
                ],
              }),
            };
        }
        const res = await send(req);
        const what = `${kind} of ${size} bytes`;
        await check(res, what);
        expect(res.status, what).toBe(413);
        expect(errorMessage(res), what).toMatch(/limit/);
        expect(await leftovers(), what).toEqual([]);
        await expectOutsideUntouched(world, what);
      }),
      { seed: 0x5eed07, numRuns: 80 },
    );
    console.log(`fuzz-transport oversized bodies: ${runs}`);
    await expectServerHealthy(world);
  });

  it("a JSON body past the JSON limit gets 413 without being read", async () => {
    // --max-bytes 64 KiB gives a JSON limit of about 8.1 MiB (base64 growth plus 8 MiB).
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/execute", "/v1/executeCode", "/execute"),
        fc.integer({ min: 9 * 1024 * 1024, max: 10 * 1024 * 1024 }),
        async (target, size) => {
          runs++;
          const body = JSON.stringify({ code: "x".repeat(size), command: "true" });
          const res = await send({ method: "POST", target, headers: [auth], body });
          await check(res, `${target} ${size}`);
          expect(res.status).toBe(413);
        },
      ),
      { seed: 0x5eed08, numRuns: 4 },
    );
    console.log(`fuzz-transport oversized JSON: ${runs}`);
    await expectServerHealthy(world);
  });

  it("malformed multipart uploads get a JSON 4xx and write nothing", async () => {
    const boundary = "mpBoundary";
    const part = (disposition: string, data = "data"): string => `--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n${data}\r\n`;
    const bodies = fc.constantFrom(
      { type: `multipart/form-data; boundary=${boundary}`, body: part('form-data; name="file"; filename="over-a"') },
      {
        type: `multipart/form-data; boundary=${boundary}`,
        body: `${part('form-data; name="other"; filename="over-b"')}--${boundary}--\r\n`,
      },
      { type: `multipart/form-data; boundary=${boundary}`, body: `${part('form-data; name="file"')}--${boundary}--\r\n` },
      { type: `multipart/form-data; boundary=${boundary}`, body: `${part('form-data; name="file"; filename=""')}--${boundary}--\r\n` },
      { type: `multipart/form-data; boundary=${boundary}`, body: "" },
      { type: `multipart/form-data; boundary=${boundary}`, body: "garbage without a boundary" },
      {
        type: `multipart/form-data; boundary=${boundary}`,
        body: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="over-c"\r\n`,
      },
      { type: "multipart/form-data", body: part('form-data; name="file"; filename="over-d"') },
      { type: "multipart/form-data; boundary=", body: part('form-data; name="file"; filename="over-e"') },
      { type: "application/json", body: '{"file": "x"}' },
      { type: "text/plain", body: "x" },
      { type: "", body: "x" },
      { type: `multipart/mixed; boundary=${boundary}`, body: part('form-data; name="file"; filename="over-f"') },
      {
        type: `multipart/form-data; boundary=${boundary}`,
        body: `${Array.from({ length: 40 }, (_, i) => part(`form-data; name="f${i}"`)).join("")}--${boundary}--\r\n`,
      },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(bodies, async ({ type, body }) => {
        runs++;
        const res = await send({
          method: "POST",
          target: "/upload",
          headers: [auth, ...(type ? ([["Content-Type", type]] as Array<[string, string]>) : [])],
          body,
        });
        const what = `${type} ${JSON.stringify(body.slice(0, 80))}`;
        await check(res, what);
        expect(res.status, what).toBeGreaterThanOrEqual(400);
        expect(await leftovers(), what).toEqual([]);
      }),
      { seed: 0x5eed09, numRuns: 60 },
    );
    console.log(`fuzz-transport malformed multipart: ${runs}`);
    await expectServerHealthy(world);
    await expectOutsideUntouched(world);
  });
});
