// Property-based: every file-taking endpoint, fed hostile paths and names (.., %2e%2e,
// backslashes, absolute paths, NUL, bad percent-encoding, unicode, very long and very deep
// names, symlinks planted by user code that point outside), answers 2xx/4xx with a JSON
// error, never reads or writes outside the workspace, and keeps serving.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64 } from "./harness.js";
import { decodeOrNull, encodeLoosely, mustRefuse, pathArb, SENTINEL_ABSOLUTE } from "./fuzz-arbitraries.js";
import {
  auth,
  expectOutsideUntouched,
  expectServerHealthy,
  expectWellFormed,
  restorePlants,
  startFuzzWorld,
  type FuzzWorld,
} from "./fuzz-fixture.js";
import { rawRequest, type RawRequest } from "./raw-http.js";

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world?.stop();
});

/** How each endpoint takes a path: in the request target, a multipart filename or a JSON name. */
type Endpoint = { name: string; via: "target" | "name"; build: (target: string, name: string) => RawRequest };

const multipart = (filename: string, extended: boolean): { body: Buffer; type: string } => {
  const boundary = "fuzzBoundary7MA4YWxk";
  const disposition = extended
    ? `form-data; name="file"; filename*=UTF-8''${encodeLoosely(filename)}`
    : `form-data; name="file"; filename="${filename.replaceAll('"', "%22").replaceAll("\r", "").replaceAll("\n", "")}"`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`, "utf8"),
    Buffer.from("uploaded by the fuzzer"),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
};

const json = (body: unknown): Pick<RawRequest, "headers" | "body"> => ({
  headers: [auth, ["Content-Type", "application/json"]],
  body: JSON.stringify(body),
});

const ENDPOINTS: Endpoint[] = [
  { name: "GET /download", via: "target", build: (t) => ({ method: "GET", target: `/download/${t}`, headers: [auth] }) },
  { name: "GET /list", via: "target", build: (t) => ({ method: "GET", target: `/list/${t}`, headers: [auth] }) },
  { name: "GET /exists", via: "target", build: (t) => ({ method: "GET", target: `/exists/${t}`, headers: [auth] }) },
  { name: "GET /v1/files", via: "target", build: (t) => ({ method: "GET", target: `/v1/files/${t}`, headers: [auth] }) },
  { name: "HEAD /v1/files", via: "target", build: (t) => ({ method: "HEAD", target: `/v1/files/${t}`, headers: [auth] }) },
  {
    name: "PUT /v1/files",
    via: "target",
    build: (t) => ({ method: "PUT", target: `/v1/files/${t}`, headers: [auth], body: "written by the fuzzer" }),
  },
  {
    name: "DELETE /v1/files",
    via: "target",
    build: (t) => ({ method: "DELETE", target: `/v1/files/${t}?recursive=true`, headers: [auth] }),
  },
  {
    name: "POST /upload (filename)",
    via: "name",
    build: (_t, n) => {
      const m = multipart(n, false);
      return { method: "POST", target: "/upload", headers: [auth, ["Content-Type", m.type]], body: m.body };
    },
  },
  {
    name: "POST /upload (filename*)",
    via: "name",
    build: (_t, n) => {
      const m = multipart(n, true);
      return { method: "POST", target: "/upload", headers: [auth, ["Content-Type", m.type]], body: m.body };
    },
  },
  {
    name: "POST /v1/execute files[].name",
    via: "name",
    build: (_t, n) => ({ method: "POST", target: "/v1/execute", ...json({ code: "None", files: [{ name: n, content: b64("fuzz") }] }) }),
  },
  {
    name: "POST /v1/executeCode files[].name",
    via: "name",
    build: (_t, n) => ({ method: "POST", target: "/v1/executeCode", ...json({ code: "", files: [{ name: n, content: b64("fuzz") }] }) }),
  },
];

describe("fuzzed paths on every file-taking endpoint", () => {
  it("answer 2xx or a JSON 4xx, refuse every escape, and touch nothing outside the workspace", async () => {
    const secretTarget = encodeLoosely(`${world.sentinel}/${world.secretName}`);
    const tried = new Map<string, number>();
    const statuses = new Map<number, number>();
    const property = fc.asyncProperty(fc.constantFrom(...ENDPOINTS), pathArb, fc.boolean(), async (endpoint, rawPath, rawNul) => {
      await restorePlants(world);
      const target = rawPath.replaceAll(SENTINEL_ABSOLUTE, secretTarget);
      // JSON and multipart names are decoded strings; sometimes with a literal NUL spliced in.
      const decoded = decodeOrNull(target);
      const name = (decoded ?? target) + (rawNul ? "\u0000x" : "");
      const req = endpoint.build(target, name);
      const res = await rawRequest(world.port, req);
      const what = `${endpoint.name} ${JSON.stringify(endpoint.via === "target" ? target : name).slice(0, 300)}`;
      tried.set(endpoint.name, (tried.get(endpoint.name) ?? 0) + 1);
      expectWellFormed(world, res, what);
      const refused =
        endpoint.via === "target" ? decoded === null || mustRefuse(decoded, world.plants) : name === "" || mustRefuse(name, world.plants);
      if (refused) expect(res.status, `${what} must be refused: ${res.body.toString("utf8").slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      if (endpoint.name === "GET /exists" && refused) expect(res.status, what).not.toBe(200);
      statuses.set(Math.floor(res.status / 100), (statuses.get(Math.floor(res.status / 100)) ?? 0) + 1);
      await expectOutsideUntouched(world, what);
    });
    await fc.assert(property, { seed: 0x5eed01, numRuns: 1500 });
    console.log(
      `fuzz-paths: ${[...tried].map(([k, v]) => `${k}=${v}`).join(", ")}; answers by class: ${[...statuses].map(([k, v]) => `${k}xx=${v}`).join(", ")}`,
    );
    await expectServerHealthy(world);
    await expectOutsideUntouched(world, "after fuzzed paths");
  });

  it("context routes answer hostile ids with a JSON 4xx", async () => {
    let runs = 0;
    const route = fc.constantFrom(
      (id: string): RawRequest => ({ method: "GET", target: `/v1/contexts/${id}`, headers: [auth] }),
      (id: string): RawRequest => ({ method: "DELETE", target: `/v1/contexts/${id}`, headers: [auth] }),
      (id: string): RawRequest => ({ method: "POST", target: `/v1/contexts/${id}/restart`, headers: [auth] }),
      (id: string): RawRequest => ({ method: "POST", target: `/v1/contexts/${id}/interrupt`, headers: [auth] }),
    );
    await fc.assert(
      fc.asyncProperty(route, pathArb, async (build, id) => {
        runs++;
        const req = build(id);
        const res = await rawRequest(world.port, req);
        const what = `${req.method} ${req.target.slice(0, 200)}`;
        expectWellFormed(world, res, what);
        // Only the default contexts exist; every generated id names none of them.
        expect(res.status, what).toBeGreaterThanOrEqual(400);
      }),
      { seed: 0x5eed0a, numRuns: 300 },
    );
    console.log(`fuzz-paths context ids: ${runs}`);
    await expectServerHealthy(world);
  });

  it("refuses reads and writes through symlinks user code planted, whatever the route", async () => {
    // The fixed cases a reviewer expects, run once each (the property above samples them).
    for (const target of [
      "escape-dir/secret",
      "escape-file",
      "dangling",
      "inside/via-link/sub",
      "root-link/etc/passwd",
      "tmp-link",
      "ok-link/via-link",
      "loop-a",
    ]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const res = await rawRequest(world.port, {
          method,
          target: `/v1/files/${target}`,
          headers: [auth],
          ...(method === "PUT" ? { body: "x" } : {}),
        });
        expectWellFormed(world, res, `${method} ${target}`);
        expect(res.status, `${method} ${target}`).toBe(403);
      }
    }
    await expectOutsideUntouched(world, "after symlink tricks");
  });
});
