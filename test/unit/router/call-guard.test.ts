// A call in flight ends as soon as the caches show its sandbox gone, and a connection the pod
// refused leaves the request unread so it can be sent again. Real sockets on loopback; the
// caches are in-memory stores firing the events an informer fires.
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectOutcome, guardCall, type ConnectOutcome } from "../../../src/router/call-guard.js";
import { RouterError, sendError } from "../../../src/router/errors.js";
import { ConnectFailed, forward } from "../../../src/router/proxy.js";
import { ReadyWaiter } from "../../../src/router/ready-waiter.js";
import { fakeCaches, sandbox } from "./fake-caches.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = http.createServer(handler);
  server.on("connection", (s) => sockets.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A pod whose execution server takes a call and never answers (as one killed under gVisor looks). */
async function silentPod() {
  let received = (): void => undefined;
  const gotCall = new Promise<void>((r) => (received = r));
  const pod = await listen(() => received());
  return { ...pod, gotCall };
}

/** The router's proxy path in miniature: guard the call on sandbox "s" and forward it to the pod. */
async function routerFor(
  podPort: number,
  caches: ReturnType<typeof fakeCaches>,
  o: { unresponsiveGraceMs?: number; probe?: (addr: unknown, timeoutMs: number) => Promise<ConnectOutcome> } = {},
) {
  const waiter = new ReadyWaiter(caches);
  const config = { retryAfterSeconds: 2, connectTimeoutMs: 500, unresponsiveGraceMs: o.unresponsiveGraceMs ?? 20_000 };
  const addr = { host: "127.0.0.1", port: podPort };
  const front = await listen((req, res) => {
    const guard = guardCall(
      { caches, waiter, config, ...(o.probe ? { probe: o.probe } : {}) },
      { namespace: "ns", name: "s", uid: "u1", podIP: "10.0.0.1" },
      addr,
    );
    forward(
      req,
      res,
      { host: addr.host, port: addr.port, path: req.url ?? "/" },
      { idleTimeoutMs: 30_000, connectTimeoutMs: 500, signal: guard.signal },
    )
      .catch((err: unknown) => sendError(res, err instanceof RouterError ? err : new RouterError(500, "internal", String(err))))
      .finally(() => guard.stop());
  });
  return `http://127.0.0.1:${front.port}`;
}

describe("a guarded call", () => {
  it("answers 503 at once, naming the status reason, when the Sandbox's pod fails mid-call", async () => {
    const caches = fakeCaches();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    const pod = await silentPod();
    const url = await routerFor(pod.port, caches);
    const answer = fetch(`${url}/v1/execute`, { method: "POST", body: "{}" });
    await pod.gotCall;
    caches.sandboxes.put(
      sandbox("s", { uid: "u1", ready: { status: "False", reason: "PodFailed", message: "Pod failed (Evicted: disk)" } }),
    );
    // The pod never answers: only the guard can end this call (else the 30 s idle timeout, a 504).
    const res = await answer;
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toEqual({
      error: {
        code: "sandbox_lost",
        reason: "PodFailed",
        message: "sandbox s went away during the call: Pod failed (Evicted: disk) (PodFailed)",
      },
    });
  });

  it("answers 503 not found when the Sandbox is deleted mid-call", async () => {
    const caches = fakeCaches();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    const pod = await silentPod();
    const answer = fetch(`${await routerFor(pod.port, caches)}/x`);
    await pod.gotCall;
    caches.sandboxes.remove("ns", "s");
    const res = await answer;
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "sandbox_lost", reason: "NotFound" } });
  });

  it("runs on when the Sandbox turns not Ready but its pod still accepts connections", async () => {
    const caches = fakeCaches();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    let finish = (): void => undefined;
    const pod = await listen((_req, res) => {
      finish = () => res.end("done");
    });
    const answer = fetch(`${await routerFor(pod.port, caches)}/slow`);
    await new Promise((r) => setTimeout(r, 100));
    caches.sandboxes.put(
      sandbox("s", { uid: "u1", ready: { status: "False", reason: "DependenciesNotReady", message: "Pod is Running but not Ready" } }),
    );
    // Long enough for the connection check to have come back.
    await new Promise((r) => setTimeout(r, 300));
    finish();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("done");
  });

  it("is given up when the Sandbox turns not Ready and its pod no longer accepts connections", async () => {
    const caches = fakeCaches();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    const pod = await silentPod();
    const answer = fetch(`${await routerFor(pod.port, caches)}/x`);
    await pod.gotCall;
    // The listener goes, the established connection stays open and silent.
    pod.server.close();
    caches.sandboxes.put(
      sandbox("s", {
        uid: "u1",
        ready: { status: "False", reason: "DependenciesNotReady", message: "Pod is Running but not Ready (CrashLoopBackOff)" },
      }),
    );
    const res = await answer;
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      error: { code: "sandbox_lost", reason: "DependenciesNotReady", message: expect.stringContaining("CrashLoopBackOff") },
    });
  });
});

describe("a guarded call on a pod that neither accepts nor refuses (a starved server)", () => {
  const notReady = { status: "False" as const, reason: "DependenciesNotReady", message: "Pod is Running but not Ready" };

  it("runs on through the grace and answers when the server does", async () => {
    const caches = fakeCaches();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    let probes = 0;
    let finish = (): void => undefined;
    const pod = await listen((_req, res) => {
      finish = () => res.end("done");
    });
    // Every connection attempt times out, as to a server the code it runs starves of CPU.
    const probe = async (): Promise<ConnectOutcome> => {
      probes++;
      await new Promise((r) => setTimeout(r, 100));
      return "timeout";
    };
    const answer = fetch(`${await routerFor(pod.port, caches, { unresponsiveGraceMs: 5_000, probe })}/slow`);
    await new Promise((r) => setTimeout(r, 100));
    caches.sandboxes.put(sandbox("s", { uid: "u1", ready: notReady }));
    await new Promise((r) => setTimeout(r, 700));
    finish();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("done");
    // It kept looking while it waited.
    expect(probes).toBeGreaterThan(2);
  });

  it("is given up once the grace has passed without an answer", async () => {
    const caches = fakeCaches();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    const pod = await silentPod();
    const probe = async (): Promise<ConnectOutcome> => {
      await new Promise((r) => setTimeout(r, 100));
      return "timeout";
    };
    const started = Date.now();
    const answer = fetch(`${await routerFor(pod.port, caches, { unresponsiveGraceMs: 600, probe })}/x`);
    await pod.gotCall;
    caches.sandboxes.put(sandbox("s", { uid: "u1", ready: notReady }));
    const res = await answer;
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "sandbox_lost", reason: "DependenciesNotReady" } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });
});

/**
 * A port that refuses connections. A port from a server this test closed is not one: the
 * kernel may hand it to a server another test file opens meanwhile. Port 1 is below the range
 * ports are handed out from, and nothing listens on it here.
 */
const REFUSING_PORT = 1;

describe("a refused connection", () => {
  it("leaves the request body unread, so the call can be sent again in full", async () => {
    let body = "";
    const live = await listen((req, res) => {
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      req.on("end", () => res.end("ok"));
    });
    const front = await listen((req, res) => {
      const opts = { idleTimeoutMs: 5_000, connectTimeoutMs: 500 };
      forward(req, res, { host: "127.0.0.1", port: REFUSING_PORT, path: "/" }, opts)
        .catch((err: unknown) => {
          if (!(err instanceof ConnectFailed)) throw err;
          return forward(req, res, { host: "127.0.0.1", port: live.port, path: "/" }, opts);
        })
        .catch((err: unknown) => {
          if (err instanceof RouterError) return sendError(res, err);
          res.writeHead(599).end(`not a RouterError: ${String(err)}`);
        });
    });
    const payload = "x".repeat(200_000);
    const res = await fetch(`http://127.0.0.1:${front.port}/`, { method: "POST", body: payload });
    expect(res.status).toBe(200);
    expect(body).toBe(payload);
  });

  it("is told apart from a pod that accepts", async () => {
    const live = await listen(() => undefined);
    expect(await connectOutcome({ host: "127.0.0.1", port: live.port }, 500)).toBe("accepted");
    expect(await connectOutcome({ host: "127.0.0.1", port: REFUSING_PORT }, 500)).toBe("refused");
  });
});
