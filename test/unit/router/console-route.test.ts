// The router's /ui/ route over real HTTP: the built console's files with their types and a
// Content-Security-Policy that keeps the page to the router, nothing else under /ui/, and
// clear answers when the console is off or not built. The console is built here with the same
// bundler step `npm run build` runs, which also proves it bundles for the browser.
import { mkdtemp, rm } from "node:fs/promises";
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveConsole } from "../../../src/router/console-route.js";
import { RouterError, sendError } from "../../../src/router/errors.js";
import { bundleConsole } from "../../../scripts/bundle-console.js";

describe("the console route", () => {
  let built: string;
  let base: string;
  let server: Server;
  let consoleDir: string | undefined;

  beforeAll(async () => {
    built = await mkdtemp(path.join(tmpdir(), "console-"));
    await bundleConsole(built);
    consoleDir = built;
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://router.invalid");
      serveConsole(consoleDir, req, res, url).catch((err: unknown) => sendError(res, err as RouterError));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    server?.close();
    if (built) await rm(built, { recursive: true, force: true });
  });

  it("serves the page with a policy that allows only the router's own script and connections", async () => {
    const res = await fetch(`${base}/ui/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toContain('<script type="module" src="console.js">');
  });

  it("serves the bundle and its style sheets with their types", async () => {
    const js = await fetch(`${base}/ui/console.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const code = await js.text();
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toMatch(/from\s*"node:/);
    expect((await fetch(`${base}/ui/console.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(`${base}/ui/result-frame.css`)).status).toBe(200);
    const head = await fetch(`${base}/ui/console.js`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("redirects /ui to /ui/ relatively, so a path prefix in front of the router is kept", async () => {
    const res = await fetch(`${base}/ui`, { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("ui/");
  });

  it("serves no other file, however the path is spelled", async () => {
    for (const p of ["/ui/../package.json", "/ui/%2e%2e/main.ts", "/ui/main.ts", "/ui/sub/index.html", "/ui/constructor"]) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, p).toBe("not_found");
    }
  });

  it("answers 405 to other methods", async () => {
    const res = await fetch(`${base}/ui/`, { method: "POST", body: "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("says so when the console is turned off or not built", async () => {
    consoleDir = undefined;
    let res = await fetch(`${base}/ui/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("console_disabled");
    consoleDir = path.join(built, "missing");
    res = await fetch(`${base}/ui/`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("console_not_built");
    expect(body.error.message).toContain("npm run build");
    consoleDir = built;
  });
});
