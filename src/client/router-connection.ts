// Router mode: a URL and a token (a Kubernetes token or a sandbox token) are all it takes.
import { DEFAULT_READY_TIMEOUT_MS, readBody, type ControlPlane, type DataPlane } from "./connection.js";
import { errorFromResponse, SandboxError, SandboxFailedError, TimeoutError } from "./errors.js";
import { httpRequest } from "./http-request.js";
import type { CreateSandboxOptions, ListOptions, OperatingMode, SandboxInfo, SandboxList, WarmPoolInfo } from "./types.js";

export interface RouterConnectionOptions {
  url: string;
  token: string;
  namespace?: string | undefined;
}

/** Longest single server-side wait asked for (the router caps it too). */
const MAX_WAIT_SECONDS = 300;

export class RouterConnection implements ControlPlane, DataPlane {
  readonly defaultNamespace: string;
  readonly #base: string;
  readonly #token: string;

  constructor(o: RouterConnectionOptions) {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new TypeError(`router URL "${o.url}" is not a valid URL (expected e.g. http://sandbox-router:8080)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`router URL must be http(s), got "${o.url}"`);
    if (!o.token) throw new TypeError("a token is required to use the router");
    this.#base = url.toString().replace(/\/$/, "");
    this.#token = o.token;
    this.defaultNamespace = o.namespace ?? "default";
  }

  async #json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body: T }> {
    const res = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      redirect: "error",
      ...(signal ? { signal } : {}),
    });
    const parsed = await readBody(res);
    if (!res.ok) {
      const failed = (parsed as { sandbox?: SandboxInfo } | undefined)?.sandbox;
      if (res.status === 422 && failed) {
        // Do not leave a sandbox that can never start behind (upstream's Python client does the same).
        await this.delete(failed.namespace, failed.id).catch(() => undefined);
        throw new SandboxFailedError(`sandbox ${failed.id} failed: ${failed.message ?? failed.reason ?? "unknown reason"}`, failed.reason);
      }
      throw errorFromResponse(res.status, parsed, res.headers, `${method} ${path}`);
    }
    return { status: res.status, body: parsed as T };
  }

  async create(opts: CreateSandboxOptions): Promise<{ info: SandboxInfo; accessToken?: string }> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const namespace = opts.namespace ?? this.defaultNamespace;
    const { body } = await this.#json<SandboxInfo & { token?: string }>(
      "POST",
      `/v1/sandboxes?namespace=${encodeURIComponent(namespace)}`,
      {
        namespace,
        ...(opts.warmPool ? { warmPool: opts.warmPool } : {}),
        ...(opts.template ? { template: opts.template } : {}),
        ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}),
        ...(opts.displayName ? { displayName: opts.displayName } : {}),
        ...(opts.labels ? { labels: opts.labels } : {}),
        ...(opts.env?.length ? { env: opts.env } : {}),
        waitSeconds: Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.floor(timeoutMs / 1000))),
      },
      opts.signal,
    );
    const { token, ...info } = body;
    let ready = info;
    if (info.state === "creating") {
      try {
        ready = await this.waitReady(namespace, info.id, Math.max(0, deadline - Date.now()), opts.signal);
      } catch (err) {
        if (err instanceof SandboxFailedError) await this.delete(namespace, info.id).catch(() => undefined);
        throw err;
      }
    }
    return { info: ready, ...(token ? { accessToken: token } : {}) };
  }

  async waitReady(namespace: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<SandboxInfo> {
    const deadline = Date.now() + timeoutMs;
    // Each GET is a server-side wait on the router's informer (it answers as soon as the state
    // changes); another is only sent if the router's own cap on a wait was shorter than ours.
    for (;;) {
      const remaining = deadline - Date.now();
      const wait = Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil(remaining / 1000)));
      const { body } = await this.#json<SandboxInfo>(
        "GET",
        `/v1/sandboxes/${encodeURIComponent(id)}?namespace=${encodeURIComponent(namespace)}&waitForReady=${wait}`,
        undefined,
        signal,
      );
      if (body.state === "failed")
        throw new SandboxFailedError(`sandbox ${id} failed: ${body.message ?? body.reason ?? "unknown reason"}`, body.reason);
      if (body.state !== "creating") return body;
      if (Date.now() >= deadline)
        throw new TimeoutError(
          `sandbox ${id} was not Ready within ${timeoutMs} ms (state ${body.state}${body.message ? `: ${body.message}` : ""})`,
        );
    }
  }

  async get(namespace: string, id: string): Promise<SandboxInfo> {
    return (await this.#json<SandboxInfo>("GET", `/v1/sandboxes/${encodeURIComponent(id)}?namespace=${encodeURIComponent(namespace)}`))
      .body;
  }

  async list(opts: ListOptions): Promise<SandboxList> {
    const q = new URLSearchParams({ namespace: opts.namespace ?? this.defaultNamespace });
    if (opts.state) q.set("state", ([] as string[]).concat(opts.state).join(","));
    if (opts.template) q.set("template", opts.template);
    if (opts.labels && Object.keys(opts.labels).length)
      q.set(
        "labels",
        Object.entries(opts.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      );
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.pageToken) q.set("pageToken", opts.pageToken);
    return (await this.#json<SandboxList>("GET", `/v1/sandboxes?${q.toString()}`)).body;
  }

  async delete(namespace: string, id: string): Promise<void> {
    await this.#json("DELETE", `/v1/sandboxes/${encodeURIComponent(id)}?namespace=${encodeURIComponent(namespace)}`);
  }

  async setOperatingMode(namespace: string, id: string, mode: OperatingMode): Promise<SandboxInfo> {
    const action = mode === "Suspended" ? "suspend" : "resume";
    return (
      await this.#json<SandboxInfo>(
        "POST",
        `/v1/sandboxes/${encodeURIComponent(id)}/${action}?namespace=${encodeURIComponent(namespace)}`,
        {},
      )
    ).body;
  }

  async warmPools(namespace: string): Promise<WarmPoolInfo[]> {
    return (await this.#json<{ warmPools: WarmPoolInfo[] }>("GET", `/v1/warmpools?namespace=${encodeURIComponent(namespace)}`)).body
      .warmPools;
  }

  async scaleWarmPool(namespace: string, name: string, replicas: number): Promise<void> {
    await this.#json("POST", `/v1/warmpools/${encodeURIComponent(name)}/scale?namespace=${encodeURIComponent(namespace)}`, { replicas });
  }

  request(namespace: string, id: string, path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.#token}`);
    return this.#fetch(`${this.#base}/sandboxes/${encodeURIComponent(namespace)}/${encodeURIComponent(id)}${path}`, {
      ...init,
      headers,
      redirect: "error",
    });
  }

  /** fetch, with "fetch failed" turned into a message that says what could not be reached. */
  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await httpRequest(url, init);
    } catch (err) {
      if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SandboxError(`cannot reach the router at ${this.#base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  }
}
