// Headless Chromium (Debian's package) for the console's browser tests, kept on this machine:
// every request the browser makes to anything but the router goes to a proxy the test starts,
// which refuses it and records it, and host names resolve nowhere. A test then asserts that
// the browser tried to reach nothing else.
import { existsSync } from "node:fs";
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser } from "playwright-core";

/** Where Debian's chromium package puts the browser; CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** A launched browser and what it tried to reach besides the router. */
export interface LocalBrowser {
  browser: Browser;
  /** Requests the stand-in proxy received and refused ("CONNECT host:443", "GET http://..."). */
  strayRequests(): string[];
  close(): Promise<void>;
}

/** Launches Chromium that may reach only `allowedHost` (an IP address, e.g. the router pod's). */
export async function launchLocalBrowser(allowedHost: string): Promise<LocalBrowser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (scripts/setup.sh does) or set CHROMIUM_PATH`);
  const stray: string[] = [];
  const proxy: Server = http.createServer((req, res) => {
    stray.push(`${req.method ?? "?"} ${req.url ?? ""}`);
    res.writeHead(403, { connection: "close" });
    res.end("refused by the test's stand-in proxy");
  });
  proxy.on("connect", (req, socket) => {
    stray.push(`CONNECT ${req.url ?? ""}`);
    socket.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      `--proxy-server=http://127.0.0.1:${proxyPort}`,
      `--proxy-bypass-list=${allowedHost}`,
      `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${allowedHost}`,
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-domain-reliability",
      "--no-pings",
    ],
  });
  return {
    browser,
    strayRequests: () => [...stray],
    close: async () => {
      await browser.close();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
