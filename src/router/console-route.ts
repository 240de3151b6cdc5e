// The web console: static files the router serves at /ui/ to any caller. The page itself holds
// no data; everything it shows comes from the management API with the token the user pastes.
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { RouterError } from "./errors.js";

/** Where the console lives on the router. */
export const CONSOLE_PATH = "/ui";

/** The built console's files and their types; nothing else under /ui/ is served. */
const CONSOLE_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
  "result-frame.css": "text/css; charset=utf-8",
  "console.js.LEGAL.txt": "text/plain; charset=utf-8",
};

/**
 * The page may run only its own script and talk only to the router. Output of sandboxes (HTML
 * tables) is drawn in frames under this same policy, so it can load nothing from elsewhere;
 * inline styles are allowed for the editor and for those tables.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** True for the console's paths. */
export function isConsolePath(pathname: string): boolean {
  return pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);
}

/** Answers a GET or HEAD for the console; `dir` is the built console (undefined: turned off). */
export async function serveConsole(dir: string | undefined, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD")
    throw new RouterError(405, "method_not_allowed", `${req.method ?? ""} is not allowed on ${url.pathname}; use GET`, {
      allow: "GET, HEAD",
    });
  if (dir === undefined) throw new RouterError(404, "console_disabled", "the web console is turned off on this router (--no-console)");
  if (url.pathname === CONSOLE_PATH) {
    // Relative, so the console also works behind a proxy that serves the router under a prefix.
    res.writeHead(308, { location: `${CONSOLE_PATH.slice(1)}/`, "content-length": 0 });
    res.end();
    return;
  }
  const name = url.pathname.slice(CONSOLE_PATH.length + 1) || "index.html";
  const type = Object.hasOwn(CONSOLE_FILES, name) ? CONSOLE_FILES[name] : undefined;
  if (type === undefined) throw new RouterError(404, "not_found", `the console has no file ${url.pathname}`);
  let body: Buffer;
  try {
    body = await readFile(path.join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new RouterError(
      404,
      "console_not_built",
      `the web console is not built in ${dir} (missing ${name}): run npm run build, or point --console-dir at a built console`,
    );
  }
  res.writeHead(200, {
    "content-type": type,
    "content-length": body.length,
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
  });
  res.end(req.method === "HEAD" ? undefined : body);
}
