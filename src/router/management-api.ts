// A small REST API for agents that do not speak Kubernetes, mirroring hosted code-execution services'
// create / get / list / delete / execute / suspend / resume. Sandboxes are SandboxClaims; their id
// is the claim name.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { AnnotationKeys, ClaimEnvVarSchema, SandboxClaimGVK, SandboxGVK, SandboxOperatingMode, SandboxWarmPoolGVK } from "../api/index.js";
import { claimManifest } from "../shared/sandbox/claim-manifest.js";
import { isNotFound, InvalidError, ApiError } from "../runtime/index.js";
import type { Caller } from "./auth.js";
import { readJson } from "./body.js";
import type { ClaimObject, PoolObject } from "./caches.js";
import { RouterIndex } from "./caches.js";
import type { RouterDeps } from "./deps.js";
import { badRequest, decodeSegment, notFound, RouterError, sendJson } from "./errors.js";
import { issueExecdToken } from "./execd-token-route.js";
import { proxyTo, validateTarget } from "./proxy-route.js";
import { SandboxStates, type SandboxInfo } from "../shared/sandbox/sandbox-info.js";
import { boundSandboxName, viewOf } from "../shared/sandbox/sandbox-state.js";
import { identityOf, type TargetIdentity } from "./scoped-access.js";

const RESERVED_LABEL_PREFIXES = [
  "agents.x-k8s.io/",
  "extensions.agents.x-k8s.io/",
  "router.agent-sandbox-ts.dev/",
  "app.kubernetes.io/managed-by",
];

const CreateBody = z
  .object({
    namespace: z.string().optional(),
    warmPool: z.string().min(1).optional(),
    template: z.string().min(1).optional(),
    ttlSeconds: z.number().int().min(10, "must be at least 10 seconds").optional(),
    displayName: z.string().max(256).optional(),
    labels: z
      .record(z.string(), z.string())
      .refine((l) => !Object.keys(l).some((k) => RESERVED_LABEL_PREFIXES.some((p) => k.startsWith(p))), {
        message: `label keys under ${RESERVED_LABEL_PREFIXES.join(", ")} are reserved`,
      })
      .optional(),
    waitSeconds: z.number().min(0).optional(),
    // The claim's own schema: exactly one of value and valueFrom.secretKeyRef per variable.
    env: z.array(ClaimEnvVarSchema).max(256).optional(),
  })
  .strict()
  .refine((b) => Boolean(b.warmPool) !== Boolean(b.template), { message: "give exactly one of warmPool or template" });

const TokenBody = z.object({ ttlSeconds: z.number().int().min(10).optional() }).strict();
const ScaleBody = z.object({ replicas: z.number().int().min(0) }).strict();
/** suspend and resume take no body, or an empty JSON object. */
const EmptyBody = z.object({}).strict();

/** The longest suspend and resume wait for the caches to show the new operating mode. */
const OPERATING_MODE_WAIT_MS = 2000;

interface Routed {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

/** Handles /v1/sandboxes... and /v1/warmpools...; returns false for other paths. */
export async function handleManagement(deps: RouterDeps, { req, res, url }: Routed): Promise<boolean> {
  const parts = url.pathname.split("/").filter(Boolean).map(decodeSegment);
  if (parts[0] !== "v1" || (parts[1] !== "sandboxes" && parts[1] !== "warmpools")) return false;
  const namespace = url.searchParams.get("namespace") || headerNamespace(req) || deps.config.defaultNamespace;
  const method = req.method ?? "GET";
  if (parts[1] === "warmpools") {
    if (parts.length === 2 && method === "GET") return done(await listPools(deps, req, res, namespace));
    if (parts.length === 4 && parts[3] === "scale" && method === "POST")
      return done(await scalePool(deps, req, res, namespace, parts[2] ?? ""));
    throw methodOrPath(method, url.pathname);
  }
  if (parts.length === 2) {
    if (method === "POST") return done(await create(deps, req, res, namespace));
    if (method === "GET") return done(await list(deps, req, res, url, namespace));
    throw methodOrPath(method, url.pathname);
  }
  const id = parts[2] ?? "";
  validateTarget({ namespace, id, port: deps.config.execPort });
  if (parts.length === 3) {
    if (method === "GET") return done(await get(deps, req, res, url, namespace, id));
    if (method === "DELETE") return done(await remove(deps, req, res, namespace, id));
    throw methodOrPath(method, url.pathname);
  }
  if (parts.length === 4 && parts[3] === "execute" && method === "POST") {
    await proxyTo(deps, req, res, { namespace, id, port: deps.config.execPort, path: `/v1/execute${url.search}` });
    return true;
  }
  if (parts.length === 4 && parts[3] === "token" && method === "POST") return done(await mintToken(deps, req, res, namespace, id));
  if (parts.length === 4 && parts[3] === "execd-token" && method === "POST")
    return done(await issueExecdToken(deps, req, res, namespace, id));
  if (parts.length === 4 && (parts[3] === "suspend" || parts[3] === "resume") && method === "POST") {
    const mode = parts[3] === "suspend" ? SandboxOperatingMode.Suspended : SandboxOperatingMode.Running;
    return done(await setOperatingMode(deps, req, res, namespace, id, mode));
  }
  if (parts[3] === "files") {
    const rest = url.pathname.split("/").slice(5).join("/");
    await proxyTo(deps, req, res, { namespace, id, port: deps.config.execPort, path: `/v1/files/${rest}${url.search}` });
    return true;
  }
  throw methodOrPath(method, url.pathname);
}

const done = (_: void): boolean => true;
const methodOrPath = (method: string, path: string): RouterError => new RouterError(404, "not_found", `no route for ${method} ${path}`);

function headerNamespace(req: IncomingMessage): string | undefined {
  const v = req.headers["x-sandbox-namespace"];
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
}

function templateOfPool(deps: RouterDeps, namespace: string, pool: string): string | undefined {
  return deps.caches.pools.get(namespace, pool)?.spec.sandboxTemplateRef.name;
}

/** A claim and the Sandbox it is bound to, as the caches show them, for authorizing calls on the claim. */
function claimTarget(deps: RouterDeps, claim: ClaimObject | undefined): TargetIdentity | undefined {
  if (!claim) return undefined;
  const bound = boundSandboxName(claim);
  return identityOf(bound ? deps.caches.sandboxes.get(claim.metadata.namespace, bound) : undefined, claim);
}

function view(deps: RouterDeps, claim: ClaimObject): SandboxInfo {
  const ns = claim.metadata.namespace ?? "";
  const bound = boundSandboxName(claim);
  const sandbox = bound ? deps.caches.sandboxes.get(ns, bound) : undefined;
  return viewOf(claim, sandbox, templateOfPool(deps, ns, claim.spec.warmPoolRef.name), deps.now());
}

async function create(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, queryNamespace: string): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  const body = await readJson(req, CreateBody);
  const namespace = body.namespace || queryNamespace;
  validateTarget({ namespace, id: "x", port: 1 });
  await deps.auth.authorize(caller, { kind: "claim", verb: "create", namespace });
  const pool = choosePool(deps, namespace, body);
  const requested = body.ttlSeconds ?? deps.config.defaultTtlSeconds;
  const ttlSeconds = Math.min(requested, deps.config.maxTtlSeconds);
  const startedAt = deps.now();
  const claim = claimManifest(
    {
      namespace,
      warmPool: pool.metadata.name ?? "",
      template: pool.spec.sandboxTemplateRef.name,
      ttlSeconds,
      displayName: body.displayName,
      labels: body.labels,
      env: body.env,
      createdBy: caller.kind === "user" ? caller.user.username : undefined,
    },
    startedAt,
  );
  const name = claim.metadata?.name ?? "";
  let claimUid: string;
  try {
    claimUid = (await deps.kube.create(claim)).metadata?.uid ?? "";
  } catch (err) {
    throw fromApiError(err);
  }
  const waitMs = Math.min(body.waitSeconds ?? deps.config.createWaitSeconds, deps.config.maxWaitSeconds) * 1000;
  const settled = await waitUntilSettled(deps, namespace, name, waitMs, res);
  const current = deps.caches.claims.get(namespace, name);
  const v: SandboxInfo = current
    ? view(deps, current)
    : {
        id: name,
        namespace,
        state: "creating",
        warmPool: pool.metadata.name ?? "",
        labels: claim.metadata?.labels ?? {},
        expireTime: claim.spec.lifecycle?.shutdownTime,
        ttlSeconds,
      };
  if (v.state === "running") deps.metrics.claimReadySeconds.observe((deps.now() - startedAt) / 1000);
  const token = await deps.scoped.sign(
    { namespace, name, boundTo: { kind: "claim", uid: claimUid } },
    Math.min(deps.config.scopedTokenTtlSeconds, ttlSeconds),
    deps.now(),
  );
  const warnings = requested > ttlSeconds ? [`ttlSeconds ${requested} exceeds the maximum; capped at ${ttlSeconds}`] : [];
  const answer = { ...v, token: token.token, tokenExpiresAt: token.expiresAt, ...(warnings.length ? { warnings } : {}) };
  if (v.state === "failed") {
    sendJson(res, 422, {
      error: { code: "sandbox_failed", message: v.message ?? `sandbox ${name} failed (${v.reason ?? "unknown reason"})` },
      sandbox: answer,
    });
    return;
  }
  sendJson(res, settled && v.state === "running" ? 201 : 202, answer);
}

/** Waits (informer events only) until the claim leaves "creating"; false on timeout. */
function waitUntilSettled(deps: RouterDeps, namespace: string, name: string, waitMs: number, res: ServerResponse): Promise<boolean> {
  return waitUntil(
    deps,
    namespace,
    name,
    () => {
      const c = deps.caches.claims.get(namespace, name);
      return c !== undefined && view(deps, c).state !== "creating";
    },
    waitMs,
    res,
  );
}

/** Waits (informer events only) until `check()` holds for the claim `name`; false on timeout or if the client goes away. */
function waitUntil(
  deps: RouterDeps,
  namespace: string,
  name: string,
  check: () => boolean,
  waitMs: number,
  res: ServerResponse,
): Promise<boolean> {
  const abort = new AbortController();
  res.once("close", () => abort.abort());
  return deps.waiter.waitFor(namespace, name, check, waitMs, abort.signal);
}

function choosePool(deps: RouterDeps, namespace: string, body: z.infer<typeof CreateBody>): PoolObject {
  if (body.warmPool) {
    const pool = deps.caches.pools.get(namespace, body.warmPool);
    if (!pool) throw notFound(`SandboxWarmPool "${body.warmPool}" not found in namespace "${namespace}"`);
    return pool;
  }
  const pools = deps.caches.pools.byIndex(RouterIndex.PoolsByTemplate, `${namespace}/${body.template ?? ""}`);
  if (pools.length === 0) {
    throw notFound(
      `no SandboxWarmPool in namespace "${namespace}" uses SandboxTemplate "${body.template ?? ""}"; create one (replicas: 0 is fine) or pass warmPool`,
    );
  }
  // Prefer a pool with Ready members (a warm start), then the name for a stable choice.
  return [...pools].sort(
    (a, b) =>
      (b.status?.readyReplicas ?? 0) - (a.status?.readyReplicas ?? 0) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  )[0] as PoolObject;
}

async function get(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, url: URL, namespace: string, id: string): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  const cached = deps.caches.claims.get(namespace, id);
  await deps.auth.authorize(caller, { kind: "claim", verb: "get", namespace, name: id, target: claimTarget(deps, cached) });
  if (!cached) throw notFound(`sandbox "${id}" not found in namespace "${namespace}"`);
  const wait = Number(url.searchParams.get("waitForReady") ?? 0);
  if (!Number.isFinite(wait) || wait < 0) throw badRequest("waitForReady must be a number of seconds >= 0");
  if (wait > 0) await waitUntilSettled(deps, namespace, id, Math.min(wait, deps.config.maxWaitSeconds) * 1000, res);
  const claim = deps.caches.claims.get(namespace, id);
  // A sandbox token reads only the claim it was checked against, not one created since under its name.
  if (!claim || (caller.kind === "scoped" && claim.metadata.uid !== cached?.metadata.uid)) throw notFound(`sandbox "${id}" was deleted`);
  sendJson(res, 200, view(deps, claim));
}

async function list(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, url: URL, namespace: string): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  await deps.auth.authorize(caller, { kind: "claim", verb: "list", namespace });
  const states = (url.searchParams.get("state") ?? "").split(",").filter(Boolean);
  const unknownState = states.find((s) => !(SandboxStates as readonly string[]).includes(s));
  if (unknownState) throw badRequest(`unknown state "${unknownState}"; one of ${SandboxStates.join(", ")}`);
  const template = url.searchParams.get("template") ?? "";
  const labels = parseSelector(url.searchParams.get("labels") ?? url.searchParams.get("labelSelector") ?? "");
  const limit = Number(url.searchParams.get("limit") ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest("limit must be a whole number from 1 to 500");
  const after = decodeCursor(url.searchParams.get("pageToken"));
  const all = deps.caches.claims
    .list(namespace)
    .map((c) => view(deps, c))
    .filter((v) => states.length === 0 || states.includes(v.state))
    .filter((v) => !template || v.template === template)
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .sort((a, b) => (a.createTime ?? "").localeCompare(b.createTime ?? "") || a.id.localeCompare(b.id));
  const start = after ? all.findIndex((v) => cursorOf(v) > after) : 0;
  const page = start < 0 ? [] : all.slice(start, start + limit);
  const last = page[page.length - 1];
  const more = start >= 0 && start + limit < all.length;
  sendJson(res, 200, { sandboxes: page, ...(more && last ? { nextPageToken: Buffer.from(cursorOf(last)).toString("base64url") } : {}) });
}

const cursorOf = (v: SandboxInfo): string => `${v.createTime ?? ""}\u0000${v.id}`;

function decodeCursor(token: string | null): string | undefined {
  if (!token) return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.includes("\u0000")) throw badRequest("pageToken is not one this API returned");
  return text;
}

/** `k=v,k2=v2` (equality only). */
export function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw badRequest(`label filter "${pair}" must be key=value`);
    out[pair.slice(0, eq).trim()] = pair
      .slice(eq + 1)
      .replace(/^=/, "")
      .trim();
  }
  return out;
}

async function remove(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, namespace: string, id: string): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  const cached = deps.caches.claims.get(namespace, id);
  await deps.auth.authorize(caller, { kind: "claim", verb: "delete", namespace, name: id, target: claimTarget(deps, cached) });
  // A sandbox token was checked against the cached claim's uid: the delete is made on that uid
  // only, so a claim created under the same name since (the cache not showing it yet) is safe.
  const uid = caller.kind === "scoped" ? cached?.metadata.uid : undefined;
  if (caller.kind === "scoped" && !uid) throw notFound(`sandbox "${id}" not found in namespace "${namespace}"`);
  try {
    await deps.kube.delete(
      { apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace, name: id },
      { propagationPolicy: "Background", ...(uid ? { preconditions: { uid } } : {}) },
    );
  } catch (err) {
    if (isNotFound(err)) throw notFound(`sandbox "${id}" not found in namespace "${namespace}"`);
    throw fromApiError(err);
  }
  sendJson(res, 200, { id, namespace, deleted: true });
}

/**
 * Suspends or resumes the Sandbox bound to claim `id` by writing its spec.operatingMode (merge
 * patch, the router's field manager): the Sandbox controller deletes the pod of a Suspended
 * Sandbox and starts a new one when it is Running again, so interpreter state and an emptyDir
 * workspace are lost. Idempotent. Answers the view `get` answers, after waiting (informer events,
 * at most OPERATING_MODE_WAIT_MS) for the caches to show the new mode.
 */
async function setOperatingMode(
  deps: RouterDeps,
  req: IncomingMessage,
  res: ServerResponse,
  namespace: string,
  id: string,
  mode: SandboxOperatingMode,
): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  await readJson(req, EmptyBody);
  const claim = deps.caches.claims.get(namespace, id);
  const bound = claim ? boundSandboxName(claim) : undefined;
  const sandbox = bound ? deps.caches.sandboxes.get(namespace, bound) : undefined;
  await deps.auth.authorize(caller, {
    kind: "sandbox",
    verb: "patch",
    namespace,
    requestedName: bound ?? id,
    target: identityOf(sandbox, claim),
  });
  if (!claim) throw notFound(`sandbox "${id}" not found in namespace "${namespace}"`);
  if (!bound || !sandbox) throw notBound(id, bound);
  // A sandbox token was checked against the cached Sandbox's uid: the patch names that uid, so a
  // Sandbox created since under the same name (the cache not showing it yet) is refused, not changed.
  const uid = caller.kind === "scoped" ? sandbox.metadata.uid : undefined;
  try {
    await deps.kube.patch(
      { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace, name: bound },
      // Said on purpose, so no longer an idle suspension that the next call would undo.
      { metadata: { ...(uid ? { uid } : {}), annotations: { [AnnotationKeys.IdleSuspendedAt]: null } }, spec: { operatingMode: mode } },
      { type: "merge" },
    );
  } catch (err) {
    if (isNotFound(err)) throw notBound(id, bound);
    if (uid && (err instanceof InvalidError || (err instanceof ApiError && err.code === 409)))
      throw new RouterError(409, "conflict", `the Sandbox "${bound}" of sandbox "${id}" was replaced meanwhile; try again`);
    throw fromApiError(err);
  }
  const suspending = mode === SandboxOperatingMode.Suspended;
  await waitUntil(
    deps,
    namespace,
    id,
    () => {
      const c = deps.caches.claims.get(namespace, id);
      if (!c || deps.caches.sandboxes.get(namespace, bound)?.spec.operatingMode !== mode) return false;
      return (view(deps, c).state === "suspended") === suspending;
    },
    OPERATING_MODE_WAIT_MS,
    res,
  );
  const current = deps.caches.claims.get(namespace, id);
  // As in get: a sandbox token reads only the claim it was checked against.
  if (!current || (caller.kind === "scoped" && current.metadata.uid !== claim.metadata.uid)) throw notFound(`sandbox "${id}" was deleted`);
  sendJson(res, 200, view(deps, current));
}

/** 409 for a claim that has no Sandbox (yet, or any more) to suspend or resume. */
function notBound(id: string, bound: string | undefined): RouterError {
  return new RouterError(
    409,
    "not_bound",
    bound
      ? `SandboxClaim "${id}" names Sandbox "${bound}", which does not exist (yet, or any more)`
      : `SandboxClaim "${id}" has no Sandbox yet; wait until it is bound (GET with ?waitForReady=)`,
  );
}

async function mintToken(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, namespace: string, id: string): Promise<void> {
  const caller: Caller = await deps.auth.authenticate(req);
  if (caller.kind === "scoped") throw new RouterError(403, "forbidden", "a sandbox token cannot mint tokens; use a Kubernetes token");
  const body = await readJson(req, TokenBody);
  const claim = deps.caches.claims.get(namespace, id);
  const bound = claim ? boundSandboxName(claim) : undefined;
  const sandbox = claim ? (bound ? deps.caches.sandboxes.get(namespace, bound) : undefined) : deps.caches.sandboxes.get(namespace, id);
  await deps.auth.authorize(caller, {
    kind: "exec",
    namespace,
    requestedName: claim ? (bound ?? id) : id,
    target: identityOf(sandbox, claim),
  });
  // A token names what it opens by uid: a claim's token follows the claim, a Sandbox's that Sandbox.
  const boundTo = claim?.metadata.uid
    ? { kind: "claim" as const, uid: claim.metadata.uid }
    : sandbox?.metadata.uid
      ? { kind: "sandbox" as const, uid: sandbox.metadata.uid }
      : undefined;
  if (!boundTo) throw notFound(`no Sandbox or SandboxClaim "${id}" in namespace "${namespace}"`);
  const ttl = Math.min(body.ttlSeconds ?? deps.config.scopedTokenTtlSeconds, deps.config.scopedTokenTtlSeconds);
  const token = await deps.scoped.sign({ namespace, name: id, boundTo }, ttl, deps.now());
  sendJson(res, 200, { id, namespace, token: token.token, expiresAt: token.expiresAt });
}

async function listPools(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, namespace: string): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  await deps.auth.authorize(caller, { kind: "pool", verb: "list", namespace });
  const pools = deps.caches.pools
    .list(namespace)
    .map((p) => ({
      name: p.metadata.name,
      namespace: p.metadata.namespace,
      template: p.spec.sandboxTemplateRef.name,
      replicas: p.spec.replicas,
      readyReplicas: p.status?.readyReplicas ?? 0,
    }))
    .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  sendJson(res, 200, { warmPools: pools });
}

async function scalePool(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, namespace: string, name: string): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  const body = await readJson(req, ScaleBody);
  await deps.auth.authorize(caller, { kind: "pool", verb: "scale", namespace, name });
  try {
    await deps.kube.patch(
      { apiVersion: SandboxWarmPoolGVK.apiVersion, kind: SandboxWarmPoolGVK.kind, namespace, name },
      { spec: { replicas: body.replicas } },
      { type: "merge", subresource: "scale" },
    );
  } catch (err) {
    if (isNotFound(err)) throw notFound(`SandboxWarmPool "${name}" not found in namespace "${namespace}"`);
    throw fromApiError(err);
  }
  sendJson(res, 200, { name, namespace, replicas: body.replicas });
}

/** API server refusals keep their meaning (bad labels are the caller's 400, not our 500). */
function fromApiError(err: unknown): Error {
  if (err instanceof InvalidError) return badRequest(`the Kubernetes API rejected the request: ${err.message}`);
  if (err instanceof ApiError && err.code === 409) return new RouterError(409, "conflict", err.message);
  return err as Error;
}
