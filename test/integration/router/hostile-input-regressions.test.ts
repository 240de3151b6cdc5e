// Plain regression tests for router bugs the property-based test (fuzz.test.ts) found; each
// names the counterexample fast-check reported.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, rawRequest } from "../../execd/raw-http.js";
import { userToken } from "../harness/cluster.js";
import { startRouter, type RunningRouter } from "./router-fixture.js";

let router: RunningRouter;
let port: number;
beforeAll(async () => {
  router = await startRouter();
  port = Number(new URL(router.url).port);
});
afterAll(async () => {
  await router?.stop();
});

describe("router: hostile request lines", () => {
  // fast-check: POST /v1/sandboxes/%E0%A4%A/execute answered 500 "internal error: URI malformed"
  // (the management API and path routing decoded segments with a bare decodeURIComponent).
  it("400s bad percent-encoding in a routed name, naming the segment, with or without a token", async () => {
    const alice: [string, string] = ["Authorization", `Bearer ${userToken("alice")}`];
    for (const target of [
      "/v1/sandboxes/%E0%A4%A/execute",
      "/v1/sandboxes/%E0%A4%A",
      "/v1/warmpools/%zz/scale",
      "/sandboxes/%E0%A4%A/x/v1/execute",
      "/sandboxes/ns/%/v1/execute",
    ]) {
      for (const headers of [[], [alice]]) {
        const res = await rawRequest(port, { method: "POST", target, headers, body: "{}" });
        expect(res.status, target).toBe(400);
        expect(jsonOf(res), target).toMatchObject({ error: { code: "bad_request", message: expect.stringContaining("percent-encoding") } });
      }
    }
  });

  // fast-check: a 17 KiB header got node's bare 431 with no body, and CONNECT a dropped connection.
  it("answers requests node's parser refuses, and CONNECT, with a JSON error", async () => {
    const cases: Array<[Parameters<typeof rawRequest>[1], number, string]> = [
      [{ method: "GET", target: "/v1/sandboxes", headers: [["X-Big", "a".repeat(17 * 1024)]] }, 431, "headers_too_large"],
      [{ method: "G3T", target: "/v1/sandboxes" }, 400, "bad_method"],
      [{ method: "CONNECT", target: "10.0.0.1:8888" }, 405, "method_not_allowed"],
    ];
    for (const [req, status, code] of cases) {
      const res = await rawRequest(port, req);
      expect(res.status, req.method).toBe(status);
      expect(jsonOf(res), req.method).toMatchObject({ error: { code, message: expect.any(String) } });
    }
  });

  // fast-check: PATCH /healthz answered 200.
  it("allows only GET and HEAD on its health endpoints", async () => {
    for (const method of ["PATCH", "POST", "DELETE"]) {
      const res = await rawRequest(port, { method, target: "/healthz" });
      expect(res.status, method).toBe(405);
      expect(jsonOf(res)).toMatchObject({ error: { code: "method_not_allowed" } });
    }
    expect((await rawRequest(port, { method: "GET", target: "/healthz" })).status).toBe(200);
  });
});
