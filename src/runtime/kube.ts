// Thin I/O adapter to the API server for writes and authoritative reads.
//
// Why a hand-written adapter instead of KubernetesObjectApi/CustomObjectsApi: client-node 2.0.1's
// generic KubernetesObjectApi.patch() cannot target a subresource (no /status SSA for arbitrary
// kinds) and has no fieldValidation parameter; CustomObjectsApi covers only custom resources and
// its typed siblings run bodies through ObjectSerializer (turning timestamps into Date objects, so
// cached and fetched objects would differ in shape). One small adapter gives every kind the same
// SSA (one field manager, force, fieldValidation=Strict), /status SSA, delete preconditions and
// typed errors from the Status body. Transport and credentials come from a Connection
// (connection.ts): either our own loader's (kubeconfig.ts; the operator, which must not load
// client-node's generated code) or one over a client-node KubeConfig (router, CLI, SDK, tests).
import type { IncomingMessage } from "node:http";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { connectionFromKubeConfig, isConnection, send, type Connection } from "./connection.js";
import { apiErrorFrom, NotFoundError } from "./errors.js";
import type { ObjectIdentity } from "./keys.js";

/** The single field manager every write of this operator uses. */
export const FIELD_MANAGER = "agent-sandbox-ts";

export interface GroupVersionKind {
  apiVersion: string;
  kind: string;
}

export interface ObjectRef extends GroupVersionKind {
  /** Omit (or empty) for cluster-scoped kinds. */
  namespace?: string | undefined;
  name: string;
}

export interface ResourceInfo {
  /** Plural resource name, e.g. "sandboxes". */
  plural: string;
  namespaced: boolean;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal | undefined;
}

export interface WriteOptions {
  signal?: AbortSignal | undefined;
  dryRun?: boolean;
}

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continueToken?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface DeleteOptions {
  /** The delete fails with ConflictError unless the live object still has this uid / resourceVersion. */
  preconditions?: { uid?: string | undefined; resourceVersion?: string | undefined };
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  signal?: AbortSignal | undefined;
}

export type PatchType = "merge" | "strategic" | "json";
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};
const APPLY_CONTENT_TYPE = "application/apply-patch+yaml";

/** Splits "group/version" (or "v1" for the core group). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const parts = apiVersion.split("/");
  if (parts.length === 1 && parts[0]) return { group: "", version: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { group: parts[0], version: parts[1] };
  throw new Error(`invalid apiVersion "${apiVersion}"`);
}

function groupVersionPath(apiVersion: string): string {
  const { group, version } = parseApiVersion(apiVersion);
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

interface APIResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/** One event of a watch stream (BOOKMARK carries only metadata.resourceVersion; ERROR a Status). */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface WatchOptions {
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal | undefined;
  /** The stream is cut after this long without any bytes (a dead connection); default none. */
  idleTimeoutMs?: number | undefined;
}

export class Kube {
  readonly connection: Connection;
  readonly fieldManager: string;
  readonly #kc: KubeConfig | undefined;
  readonly #requestTimeoutMs: number;
  readonly #discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  readonly #static = new Map<string, ResourceInfo>();

  /** `source`: a Connection (connection.ts) or a client-node KubeConfig. */
  constructor(source: Connection | KubeConfig, opts: { fieldManager?: string; requestTimeoutMs?: number } = {}) {
    if (isConnection(source)) {
      this.connection = source;
    } else {
      this.#kc = source;
      this.connection = connectionFromKubeConfig(source);
    }
    this.fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /** The client-node KubeConfig this Kube was built from (throws if it was built from a Connection). */
  get kc(): KubeConfig {
    if (!this.#kc) throw new Error(`this Kube was built from ${this.connection.description}, not from a client-node KubeConfig`);
    return this.#kc;
  }

  /** Registers a kind's resource so no discovery call is needed (e.g. for this operator's own CRDs). */
  registerResource(gvk: GroupVersionKind, info: ResourceInfo): void {
    this.#static.set(`${gvk.apiVersion}|${gvk.kind}`, info);
  }

  /** Maps apiVersion+kind to its plural and scope through discovery (cached; refreshed once on a miss). */
  async resourceFor(gvk: GroupVersionKind, signal?: AbortSignal): Promise<ResourceInfo> {
    const known = this.#static.get(`${gvk.apiVersion}|${gvk.kind}`);
    if (known) return known;
    for (let attempt = 0; attempt < 2; attempt++) {
      let p = this.#discovery.get(gvk.apiVersion);
      if (!p || attempt === 1) {
        p = this.#discover(gvk.apiVersion, signal);
        this.#discovery.set(gvk.apiVersion, p);
        // A failed discovery must not be cached forever.
        p.catch(() => this.#discovery.delete(gvk.apiVersion));
      }
      const info = (await p).get(gvk.kind);
      if (info) return info;
    }
    throw new Error(`no resource for kind ${gvk.kind} in ${gvk.apiVersion} (is the CRD installed?)`);
  }

  async #discover(apiVersion: string, signal?: AbortSignal): Promise<Map<string, ResourceInfo>> {
    const list = await this.request<APIResourceList>("GET", groupVersionPath(apiVersion), { signal });
    const out = new Map<string, ResourceInfo>();
    for (const r of list.resources ?? []) {
      if (r.name.includes("/")) continue; // subresources
      out.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    }
    return out;
  }

  /** URL path of a collection (no name) or an object, optionally a subresource of it. */
  async pathFor(
    ref: GroupVersionKind & { namespace?: string | undefined; name?: string | undefined; subresource?: string },
    signal?: AbortSignal,
  ): Promise<string> {
    const info = await this.resourceFor(ref, signal);
    let p = groupVersionPath(ref.apiVersion);
    if (info.namespaced && ref.namespace) p += `/namespaces/${encodeURIComponent(ref.namespace)}`;
    else if (info.namespaced && ref.name) throw new Error(`${ref.kind} ${ref.name}: namespaced kind needs a namespace`);
    p += `/${info.plural}`;
    if (ref.name) p += `/${encodeURIComponent(ref.name)}`;
    if (ref.subresource) {
      if (!ref.name) throw new Error("a subresource needs an object name");
      p += `/${ref.subresource}`;
    }
    return p;
  }

  /** One HTTP call to the API server; non-2xx responses throw typed ApiErrors. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] = opts.contentType ?? "application/json";
    }
    // Per-request timeout with a timer we clear on completion (AbortSignal.timeout would keep a
    // timer alive for the full timeout after every request, which adds up at high request rates).
    const ctl = new AbortController();
    const timer = setTimeout(
      () => ctl.abort(new DOMException(`${method} ${path} timed out after ${this.#requestTimeoutMs} ms`, "TimeoutError")),
      this.#requestTimeoutMs,
    );
    const onAbort = (): void => ctl.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    let res: IncomingMessage;
    let text: string;
    try {
      res = await send(this.connection, { method, path: withQuery(path, opts.query), headers, body, signal: ctl.signal });
      text = await readBody(res);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    }
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      if (status === 401) this.connection.unauthorized();
      throw apiErrorFrom(method, path, status, parsed);
    }
    return parsed as T;
  }

  /**
   * Opens a watch and resolves once the API server accepted it (a non-2xx answer throws a typed
   * ApiError); the returned iterator then yields each event as it arrives until the server ends
   * the stream, the signal aborts (it throws the signal's reason) or the connection idles past
   * idleTimeoutMs. Breaking out of the loop closes the stream.
   */
  async watch<T>(path: string, opts: WatchOptions = {}): Promise<AsyncGenerator<WatchEvent<T>, void, undefined>> {
    const res = await send(this.connection, {
      method: "GET",
      path: withQuery(path, { ...opts.query, watch: true }),
      headers: { Accept: "application/json" },
      signal: opts.signal,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const text = await readBody(res).finally(() => res.destroy());
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
      if (status === 401) this.connection.unauthorized();
      throw apiErrorFrom("WATCH", path, status, parsed);
    }
    return watchEvents<T>(res);
  }

  async get<T extends KubernetesObject>(ref: ObjectRef, opts: { signal?: AbortSignal | undefined } = {}): Promise<T> {
    return this.request<T>("GET", await this.pathFor(ref, opts.signal), { signal: opts.signal });
  }

  async list<T extends KubernetesObject>(gvk: GroupVersionKind, opts: ListOptions = {}): Promise<KubernetesListObject<T>> {
    const path = await this.pathFor({ ...gvk, namespace: opts.namespace }, opts.signal);
    return this.request<KubernetesListObject<T>>("GET", path, {
      signal: opts.signal,
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continueToken },
    });
  }

  /** POST; throws AlreadyExistsError if the name is taken. */
  async create<T extends ObjectIdentity>(obj: T, opts: WriteOptions = {}): Promise<T> {
    const ref = refOf(obj, true);
    const path = await this.pathFor({ ...ref, name: undefined }, opts.signal);
    return this.request<T>("POST", path, {
      body: obj,
      signal: opts.signal,
      query: { fieldManager: this.fieldManager, fieldValidation: "Strict", dryRun: opts.dryRun ? "All" : undefined },
    });
  }

  /**
   * Server-side apply of the full intent for `obj` with this operator's field manager, force=true
   * (take ownership of conflicting fields, as controller-runtime advises) and fieldValidation=Strict
   * (unknown or duplicate fields fail with InvalidError instead of being dropped silently).
   */
  async apply<T extends ObjectIdentity>(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.#apply(obj, undefined, opts);
  }

  /** Server-side apply to the /status subresource; send only the status fields this controller owns. */
  async applyStatus<T extends ObjectIdentity>(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.#apply(obj, "status", opts);
  }

  async #apply<T extends ObjectIdentity>(obj: T, subresource: string | undefined, opts: WriteOptions): Promise<T> {
    const ref = refOf(obj, false);
    const path = await this.pathFor({ ...ref, ...(subresource ? { subresource } : {}) }, opts.signal);
    return this.request<T>("PATCH", path, {
      body: obj,
      contentType: APPLY_CONTENT_TYPE,
      signal: opts.signal,
      query: { fieldManager: this.fieldManager, force: true, fieldValidation: "Strict", dryRun: opts.dryRun ? "All" : undefined },
    });
  }

  /** Non-apply patch (merge, strategic or JSON patch), optionally on a subresource. */
  async patch<T extends KubernetesObject>(
    ref: ObjectRef,
    patch: unknown,
    opts: WriteOptions & { type?: PatchType; subresource?: string } = {},
  ): Promise<T> {
    const path = await this.pathFor({ ...ref, ...(opts.subresource ? { subresource: opts.subresource } : {}) }, opts.signal);
    return this.request<T>("PATCH", path, {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[opts.type ?? "merge"],
      signal: opts.signal,
      query: { fieldManager: this.fieldManager, fieldValidation: "Strict", dryRun: opts.dryRun ? "All" : undefined },
    });
  }

  /** PUT guarded by obj.metadata.resourceVersion (ConflictError if it moved). */
  async replace<T extends ObjectIdentity>(obj: T, opts: WriteOptions & { subresource?: string } = {}): Promise<T> {
    const ref = refOf(obj, false);
    const path = await this.pathFor({ ...ref, ...(opts.subresource ? { subresource: opts.subresource } : {}) }, opts.signal);
    return this.request<T>("PUT", path, {
      body: obj,
      signal: opts.signal,
      query: { fieldManager: this.fieldManager, fieldValidation: "Strict", dryRun: opts.dryRun ? "All" : undefined },
    });
  }

  /** DELETE with optional uid/resourceVersion preconditions and propagation policy. NotFound throws. */
  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<void> {
    const path = await this.pathFor(ref, opts.signal);
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts.preconditions) body["preconditions"] = opts.preconditions;
    if (opts.propagationPolicy) body["propagationPolicy"] = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body["gracePeriodSeconds"] = opts.gracePeriodSeconds;
    await this.request<unknown>("DELETE", path, { body, signal: opts.signal });
  }

  /** Authoritative read that maps NotFound to undefined. */
  async getOrUndefined<T extends KubernetesObject>(
    ref: ObjectRef,
    opts: { signal?: AbortSignal | undefined } = {},
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, opts);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }
}

function refOf(obj: ObjectIdentity, allowGenerateName: boolean): ObjectRef {
  const { apiVersion, kind, metadata } = obj;
  if (!apiVersion || !kind) throw new Error("object needs apiVersion and kind");
  const name = metadata?.name ?? (allowGenerateName && metadata?.generateName ? "" : undefined);
  if (name === undefined) throw new Error(`${kind}: object needs metadata.name`);
  return { apiVersion, kind, namespace: metadata?.namespace, name };
}

function withQuery(path: string, query: RequestOptions["query"]): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** Splits a watch body into events (one JSON document per line). */
async function* watchEvents<T>(res: IncomingMessage): AsyncGenerator<WatchEvent<T>, void, undefined> {
  try {
    res.setEncoding("utf8");
    let pending = "";
    for await (const chunk of res as AsyncIterable<string>) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line) yield JSON.parse(line) as WatchEvent<T>;
      }
    }
    const last = pending.trim();
    if (last) yield JSON.parse(last) as WatchEvent<T>;
  } finally {
    res.destroy();
  }
}
