// Listeners the e2e tests own, standing in for what a sandbox must never reach: the internet,
// a cloud metadata server and the node itself. Tests talk only to this machine and to the
// cluster it runs, so nothing here is a real remote host or a real metadata service:
// - "remote" and "metadata" listen inside a network namespace the test creates, on addresses
//   the node routes into that namespace (a benchmarking-range address, and one in the
//   link-local range where clouds put their metadata servers), so a pod reaches them exactly
//   as it would reach a host beyond the node;
// - "node" listens on the node's own IP.
// Before anything connects, the routes are checked to lead into the namespace, so a probe can
// never leave the machine; after the tests the addresses stay routed "unreachable".
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A TCP endpoint a probe can target. */
export interface Endpoint {
  ip: string;
  port: number;
}

/** The stand-in listeners, up and answering until `close()`. */
export interface StandIns {
  /** A host beyond the node, as the internet would be. */
  remote: Endpoint;
  /** A metadata-server look-alike in 169.254.0.0/16; serves a fake token at `metadataTokenPath`. */
  metadata: Endpoint;
  /** A canary on the node's own address. */
  node: Endpoint;
  close(): Promise<void>;
}

/** The path where GCE's metadata server hands out the node's service-account token. */
export const metadataTokenPath = "/computeMetadata/v1/instance/service-accounts/default/token";
/** What the metadata stand-in returns at `metadataTokenPath` (to a request with `Metadata-Flavor: Google`). */
export const fakeMetadataToken = "stand-in-token-not-a-credential";

const NETNS = "agsb-standins";
const HOST_VETH = "agsbsi0";
const LINK_HOST = "198.18.0.1";
const LINK_NS = "198.18.0.2";
// RFC 2544's benchmarking range: never routed on the internet, and not used by this machine.
const REMOTE_IP = "198.18.100.1";
// Link-local like the metadata servers, but not any cloud's metadata address.
const METADATA_IP = "169.254.77.1";
const PORT = 80;

// Runs in the namespace: one HTTP server on both addresses. The metadata look-alike wants the
// Metadata-Flavor header like the real one, so a probe that gets the token proves a full request.
const nsServer = `
const http = require("node:http");
const serve = (name, ip) => http.createServer((req, res) => {
  if (name === "metadata" && req.url === ${JSON.stringify(metadataTokenPath)}) {
    if (req.headers["metadata-flavor"] !== "Google") { res.writeHead(403); res.end("missing Metadata-Flavor"); return; }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: ${JSON.stringify(fakeMetadataToken)}, token_type: "Bearer" }));
    return;
  }
  res.end("stand-in " + name);
}).listen(${PORT}, ip, () => process.stdout.write(name + " listening\\n"));
serve("remote", ${JSON.stringify(REMOTE_IP)});
serve("metadata", ${JSON.stringify(METADATA_IP)});
`;

async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 1 << 20 });
  return stdout;
}

async function quiet(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args).catch(() => undefined);
}

/**
 * Removes the namespace and its link, and leaves each stand-in address routed "unreachable":
 * a pod may still send a late packet to a stand-in (a reset after its test ended), and
 * without a route of its own that packet would head for the default gateway.
 */
async function removeNamespace(): Promise<void> {
  for (const ip of [REMOTE_IP, METADATA_IP]) await sh("ip", ["route", "replace", "unreachable", `${ip}/32`]);
  await quiet("ip", ["link", "del", HOST_VETH]);
  await quiet("ip", ["netns", "del", NETNS]);
}

/** Fails unless the kernel would send `ip` into the stand-ins' namespace. */
async function assertRoutedIntoNamespace(ip: string): Promise<void> {
  const route = await sh("ip", ["-4", "route", "get", ip]);
  if (!new RegExp(`\\bdev ${HOST_VETH}\\b`).test(route)) {
    throw new Error(`refusing to probe ${ip}: the route leads elsewhere (${route.trim()}), not into ${NETNS}`);
  }
}

async function waitForLines(child: ChildProcess, wanted: string[], timeoutMs: number): Promise<void> {
  let seen = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stand-in listeners did not start: ${seen}`)), timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      seen += d.toString();
      if (wanted.every((w) => seen.includes(w))) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (d: Buffer) => (seen += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in listeners exited (${code}): ${seen}`));
    });
  });
}

/** Creates the namespace, its routes and listeners, and the node canary. Needs root. */
export async function startStandIns(nodeIP: string): Promise<StandIns> {
  await removeNamespace(); // a run that was killed may have left them
  await sh("ip", ["netns", "add", NETNS]);
  await sh("ip", ["link", "add", HOST_VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS]);
  await sh("ip", ["addr", "add", `${LINK_HOST}/30`, "dev", HOST_VETH]);
  await sh("ip", ["link", "set", HOST_VETH, "up"]);
  const inNs = (args: string[]): Promise<string> => sh("ip", ["netns", "exec", NETNS, ...args]);
  await inNs(["ip", "addr", "add", `${LINK_NS}/30`, "dev", "eth0"]);
  await inNs(["ip", "link", "set", "eth0", "up"]);
  await inNs(["ip", "link", "set", "lo", "up"]);
  for (const ip of [REMOTE_IP, METADATA_IP]) await inNs(["ip", "addr", "add", `${ip}/32`, "dev", "lo"]);
  await inNs(["ip", "route", "add", "default", "via", LINK_HOST]);
  for (const ip of [REMOTE_IP, METADATA_IP]) {
    await sh("ip", ["route", "replace", `${ip}/32`, "via", LINK_NS, "dev", HOST_VETH]);
    await assertRoutedIntoNamespace(ip);
  }

  const child = spawn("ip", ["netns", "exec", NETNS, process.execPath, "-e", nsServer], { stdio: ["ignore", "pipe", "pipe"] });
  await waitForLines(child, ["remote listening", "metadata listening"], 15_000);

  const canary: Server = createServer((_req, res) => res.end("stand-in node")).listen(0, nodeIP);
  await new Promise<void>((resolve, reject) => {
    canary.once("listening", resolve);
    canary.once("error", reject);
  });
  const canaryPort = (canary.address() as { port: number }).port;

  // Each answers from the host, so a refusal seen from a pod is the network's doing.
  for (const [ip, port] of [
    [REMOTE_IP, PORT],
    [METADATA_IP, PORT],
    [nodeIP, canaryPort],
  ] as const) {
    const body = await (await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(5000) })).text();
    if (!body.startsWith("stand-in")) throw new Error(`stand-in at ${ip}:${port} answered ${body}`);
  }

  return {
    remote: { ip: REMOTE_IP, port: PORT },
    metadata: { ip: METADATA_IP, port: PORT },
    node: { ip: nodeIP, port: canaryPort },
    async close() {
      child.kill("SIGKILL");
      await new Promise<void>((resolve) => canary.close(() => resolve()));
      await removeNamespace();
    },
  };
}

/**
 * Python for a pod: tries each TCP target at once (2 s each), and an HTTP GET of the
 * metadata stand-in's token URL; prints {"ip:port": bool, ..., "http": "answered N: body" | "failed: Error"}.
 */
export function probeScript(targets: readonly Endpoint[], metadataUrl?: string): string {
  return `
import json, socket, threading, urllib.request
targets = ${JSON.stringify(targets.map((t) => [t.ip, t.port]))}
out = {}
def attempt(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        out[f"{host}:{port}"] = True
    except OSError:
        out[f"{host}:{port}"] = False
threads = [threading.Thread(target=attempt, args=(h, p)) for h, p in targets]
for t in threads: t.start()
for t in threads: t.join()
metadata_url = ${JSON.stringify(metadataUrl ?? "")}
if metadata_url:
    try:
        req = urllib.request.Request(metadata_url, headers={"Metadata-Flavor": "Google"})
        with urllib.request.urlopen(req, timeout=3) as r:
            out["http"] = "answered %d: %s" % (r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        out["http"] = "answered %d" % e.code
    except Exception as e:
        out["http"] = "failed: " + type(e).__name__
print(json.dumps(out))
`;
}

/** The key `probeScript` prints for an endpoint. */
export const key = (e: Endpoint): string => `${e.ip}:${e.port}`;
