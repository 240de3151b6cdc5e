// The data plane: authenticate, resolve from the caches, authorize against the resolved
// sandbox, then stream to its pod with a token the router signs for that very sandbox. A sandbox the
// caches show failed or gone is answered at once; one that is restarting is waited for briefly; one
// suspended for idleness is resumed and waited for.
import type { IncomingMessage, ServerResponse } from "node:http";
import { guardCall } from "./call-guard.js";
import type { RouterDeps } from "./deps.js";
import { badRequest, decodeSegment, notFound, RouterError, unavailable } from "./errors.js";
import { ConnectFailed, forward } from "./proxy.js";
import { resolveTarget, targetOf, type Resolution } from "./resolve.js";
import type { DialledSandbox } from "./target-health.js";
import { afterRefusal, untilServing, type WaitTarget } from "./target-wait.js";
import { wakeIfIdle } from "./wake.js";

/** Upstream paths that count as an execute (they reset the sandbox's TTL). */
const EXECUTE_PATHS = new Set(["/v1/execute", "/execute", "/v1/executeCode"]);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface ProxyRequest {
  namespace: string;
  /** Sandbox or SandboxClaim name. */
  id: string;
  port: number;
  /** Path and query sent to the pod. */
  path: string;
}

export function validateTarget(t: { namespace: string; id: string; port: number }): void {
  if (!DNS1123_SUBDOMAIN.test(t.id)) throw badRequest(`sandbox id "${t.id}" is not a valid name (lower-case DNS-1123 subdomain)`);
  if (!DNS1123_LABEL.test(t.namespace)) throw badRequest(`namespace "${t.namespace}" is not a valid namespace name (DNS-1123 label)`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
    throw badRequest(`port "${t.port}" must be a whole number from 1 to 65535`);
}

/** Upstream's header contract: X-Sandbox-ID (required), X-Sandbox-Namespace, X-Sandbox-Port. */
export function fromHeaders(req: IncomingMessage, defaults: { namespace: string; port: number }): ProxyRequest {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = (header("x-sandbox-id") ?? "").trim();
  const namespace = (header("x-sandbox-namespace") ?? "").trim() || defaults.namespace;
  const portText = (header("x-sandbox-port") ?? "").trim();
  const port = portText ? Number(portText) : defaults.port;
  const t = { namespace, id, port, path: req.url ?? "/" };
  validateTarget(t);
  return t;
}

/** Path routing: /sandboxes/{namespace}/{name}/<rest> -> /<rest> on the pod. */
export function fromPath(req: IncomingMessage, defaults: { port: number }): ProxyRequest {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? "" : url.slice(q);
  const m = /^\/sandboxes\/([^/]+)\/([^/]+)(\/.*)?$/.exec(pathname);
  if (!m?.[1] || !m[2]) throw notFound("expected /sandboxes/{namespace}/{name}/<path>");
  const portText = req.headers["x-sandbox-port"];
  const port = typeof portText === "string" && portText.trim() ? Number(portText) : defaults.port;
  const t = { namespace: decodeSegment(m[1]), id: decodeSegment(m[2]), port, path: `${m[3] ?? "/"}${search}` };
  validateTarget(t);
  return t;
}

export async function proxyTo(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, p: ProxyRequest): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  const preferClaim = caller.kind === "scoped" && caller.subject.boundTo.kind === "claim";
  const t: WaitTarget = {
    namespace: p.namespace,
    id: p.id,
    resolve: () => resolveTarget(deps.caches, p.namespace, p.id, deps.now(), { preferClaim }),
  };
  const authorize = (r: Resolution): Promise<void> =>
    deps.auth.authorize(caller, { kind: "exec", namespace: p.namespace, requestedName: p.id, target: targetOf(r) });
  let r = t.resolve();
  // Authorize before telling anything about the target, so others learn nothing from 404 vs 503
  // (nor from how long the answer took: only an authorized caller ever waits below).
  await authorize(r);
  if (r.kind === "not-found" || r.kind === "not-ready") {
    r = await untilServing(deps, t, res, r);
    // The target may now resolve to objects the first check did not name (a claim's adopted sandbox).
    await authorize(r);
  }
  const woken = await wakeIfIdle(deps, t, res, r);
  if (woken !== r) {
    r = woken;
    await authorize(r);
  }
  const ready = serving(deps, p, r);
  const pathOnly = p.path.split("?")[0] ?? "/";
  if (ready.claim && EXECUTE_PATHS.has(pathOnly) && req.method === "POST") deps.ttl.touch(ready.claim);
  deps.activity.touch(ready.sandbox);
  try {
    await dial(deps, req, res, p, ready);
  } catch (err) {
    if (!(err instanceof ConnectFailed)) throw err;
    // Nothing reached the pod. If the caches show the sandbox restarting, or already back at
    // another address, the call is sent once more when it serves again; else the refusal stands.
    const next = await afterRefusal(deps, t, res, dialledOf(p, ready));
    if (!next) throw err;
    await authorize(next);
    await dial(deps, req, res, p, serving(deps, p, next));
  }
}

type Ready = Extract<Resolution, { kind: "ready" }>;

/** The resolution if the sandbox serves; else the answer to give (404, 410, 503 with the status reason). */
export function serving(deps: RouterDeps, p: ProxyRequest, r: Resolution): Ready {
  switch (r.kind) {
    case "not-found":
      throw notFound(`no Sandbox or SandboxClaim "${p.id}" in namespace "${p.namespace}"`);
    case "expired":
      throw new RouterError(410, "expired", r.message);
    case "not-ready":
      throw unavailable("not_ready", r.reason, r.message, deps.config.retryAfterSeconds);
    case "ready":
      return r;
  }
}

function dialledOf(p: ProxyRequest, r: Ready): DialledSandbox {
  return { namespace: p.namespace, name: r.sandbox.metadata.name ?? p.id, uid: r.sandbox.metadata.uid ?? "", podIP: r.podIP };
}

/** One attempt at the pod, given up early if the caches show the sandbox gone meanwhile. */
async function dial(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, p: ProxyRequest, r: Ready): Promise<void> {
  const dialled = dialledOf(p, r);
  const addr = deps.mapAddress
    ? await deps.mapAddress({ namespace: p.namespace, sandboxName: dialled.name, podIP: r.podIP, port: p.port })
    : { host: r.podIP, port: p.port };
  // The execution server's token goes only to the execution server, never to other ports.
  const execdToken = p.port === deps.config.execPort ? (await deps.execdTokens.tokenFor(dialled)).token : undefined;
  const guard = guardCall(deps, dialled, addr);
  try {
    await forward(
      req,
      res,
      { host: addr.host, port: addr.port, path: p.path, execdToken },
      {
        idleTimeoutMs: idleTimeoutFor(req, deps.config.upstreamIdleTimeoutMs),
        connectTimeoutMs: deps.config.connectTimeoutMs,
        signal: guard.signal,
        mapStatus: (status) =>
          status === 401 && p.port === deps.config.execPort
            ? new RouterError(
                502,
                "upstream_auth",
                `sandbox ${dialled.name} rejected the router's credentials (its execution server does not trust the router's signing key)`,
              )
            : undefined,
      },
    );
  } finally {
    guard.stop();
  }
}

/** Upstream's X-Sandbox-Timeout (seconds) may shorten the idle timeout, never lengthen it. */
export function idleTimeoutFor(req: IncomingMessage, maxMs: number): number {
  const raw = req.headers["x-sandbox-timeout"];
  if (typeof raw !== "string" || !raw.trim()) return maxMs;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw badRequest(`X-Sandbox-Timeout "${raw}" must be a positive number of seconds`);
  return Math.min(maxMs, Math.ceil(seconds * 1000));
}
