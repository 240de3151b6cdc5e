// Kubernetes mode: SandboxClaims through the API server with the caller's kubeconfig, and the
// execution server reached straight at the pod (in-cluster; the operator's NetworkPolicy admits
// only the router, so use this from the router's namespace/labels, or use router mode). The
// execution server accepts only tokens the router signs, so its token comes from the router.
import type { RequestOptions } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig } from "@kubernetes/client-node";
import { SandboxClaimGVK, SandboxGVK, SandboxWarmPoolGVK } from "../api/index.js";
import { ApiError, GoneError, isNotFound, Kube } from "../runtime/index.js";
import { claimManifest } from "../shared/sandbox/claim-manifest.js";
import { DEFAULT_EXEC_PORT, DEFAULT_TTL_SECONDS } from "../shared/sandbox/defaults.js";
import type { ExecdTokenAnswer } from "../shared/sandbox/execd-token-answer.js";
import type { ClaimObject, PoolObject, SandboxObject } from "../shared/sandbox/objects.js";
import { boundSandboxName, viewOf } from "../shared/sandbox/sandbox-state.js";
import { DEFAULT_READY_TIMEOUT_MS, type ControlPlane, type DataPlane } from "./connection.js";
import { httpRequest } from "./http-request.js";
import {
  errorFromResponse,
  InvalidRequestError,
  SandboxError,
  UnauthorizedError,
  SandboxFailedError,
  SandboxNotFoundError,
  SandboxNotReadyError,
  TimeoutError,
} from "./errors.js";
import type { CreateSandboxOptions, ListOptions, OperatingMode, SandboxInfo, SandboxList, WarmPoolInfo } from "./types.js";

/** Maps a sandbox pod's address to the one dialled (same shape as the router's mapper). */
export type DirectAddressMapper = (target: {
  namespace: string;
  sandboxName: string;
  podIP: string;
  port: number;
}) => { host: string; port: number } | Promise<{ host: string; port: number }>;

export interface KubeConnectionOptions {
  kubeConfig?: KubeConfig | undefined;
  namespace?: string | undefined;
  /** Port of the execution server in sandbox pods. */
  execPort?: number | undefined;
  /** Where a pod IP is dialled (identity in a cluster; a port-forward or a test seam otherwise). */
  mapAddress?: DirectAddressMapper | undefined;
  /**
   * The router that issues execution-server tokens (POST /v1/sandboxes/{id}/execd-token), called
   * with the kubeconfig's bearer token. Without it pods are called with no token, which only a
   * sandbox's own server that asks for none accepts.
   */
  tokenIssuerUrl?: string | undefined;
}

interface PodEndpoint {
  url: string;
  token: string | undefined;
  /** Reused until then (ms): a short while for a pod address, until shortly before a token expires. */
  until: number;
}

const ENDPOINT_CACHE_MS = 30_000;
/** A token is replaced this long before it expires, so a call never reaches the pod with a dead one. */
const TOKEN_RENEW_BEFORE_MS = 15_000;

/** API errors as the SDK's typed errors. */
function fromApi(err: unknown, what: string): Error {
  if (err instanceof ApiError)
    return errorFromResponse(err.code, { error: { code: err.reason, message: `${what}: ${err.status.message ?? err.message}` } });
  return err as Error;
}

export class KubeConnection implements ControlPlane, DataPlane {
  readonly defaultNamespace: string;
  readonly kubeConfig: KubeConfig;
  readonly #kube: Kube;
  readonly #execPort: number;
  readonly #map: DirectAddressMapper;
  readonly #endpoints = new Map<string, PodEndpoint>();
  readonly #tokenIssuerUrl: string | undefined;

  constructor(o: KubeConnectionOptions = {}) {
    this.kubeConfig = o.kubeConfig ?? loadDefault();
    this.#kube = new Kube(this.kubeConfig, { fieldManager: "agent-sandbox-ts-client" });
    this.defaultNamespace = o.namespace ?? (this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext())?.namespace || "default");
    this.#execPort = o.execPort ?? DEFAULT_EXEC_PORT;
    this.#map = o.mapAddress ?? ((t) => ({ host: t.podIP, port: t.port }));
    this.#tokenIssuerUrl = o.tokenIssuerUrl?.replace(/\/+$/, "");
  }

  async create(opts: CreateSandboxOptions): Promise<{ info: SandboxInfo }> {
    const namespace = opts.namespace ?? this.defaultNamespace;
    const pool = await this.#choosePool(namespace, opts);
    const ttlSeconds = opts.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    const claim = claimManifest(
      {
        namespace,
        warmPool: pool.metadata?.name ?? "",
        template: pool.spec.sandboxTemplateRef.name,
        ttlSeconds,
        displayName: opts.displayName,
        labels: opts.labels,
        env: opts.env,
      },
      Date.now(),
    );
    let created: ClaimObject;
    try {
      created = await this.#kube.create(claim as ClaimObject);
    } catch (err) {
      throw fromApi(err, "creating the SandboxClaim");
    }
    const id = created.metadata.name ?? "";
    try {
      const info = await this.#watchUntilSettled(
        namespace,
        id,
        created.metadata.resourceVersion,
        opts.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
        opts.signal,
      );
      return { info };
    } catch (err) {
      // Do not leave a half-made sandbox behind (upstream's Python client does the same).
      if (err instanceof SandboxFailedError) await this.delete(namespace, id).catch(() => undefined);
      throw err;
    }
  }

  async #choosePool(namespace: string, opts: CreateSandboxOptions): Promise<PoolObject> {
    if (Boolean(opts.warmPool) === Boolean(opts.template))
      throw new InvalidRequestError("give exactly one of warmPool or template", 400, "bad_request");
    if (opts.warmPool) {
      try {
        return await this.#kube.get<PoolObject>({
          apiVersion: SandboxWarmPoolGVK.apiVersion,
          kind: SandboxWarmPoolGVK.kind,
          namespace,
          name: opts.warmPool,
        });
      } catch (err) {
        throw fromApi(err, `SandboxWarmPool "${opts.warmPool}" in namespace "${namespace}"`);
      }
    }
    const pools = (await this.#kube.list<PoolObject>(SandboxWarmPoolGVK, { namespace })).items.filter(
      (p) => p.spec.sandboxTemplateRef.name === opts.template,
    );
    const pool = pools.sort((a, b) => (b.status?.readyReplicas ?? 0) - (a.status?.readyReplicas ?? 0))[0];
    if (!pool)
      throw new SandboxNotFoundError(
        `no SandboxWarmPool in namespace "${namespace}" uses SandboxTemplate "${opts.template ?? ""}"`,
        404,
        "not_found",
      );
    return pool;
  }

  waitReady(namespace: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<SandboxInfo> {
    return this.#watchUntilSettled(namespace, id, undefined, timeoutMs, signal);
  }

  /**
   * Watches the claim from `resourceVersion` until it leaves "creating". The API server ends
   * watches after a while: each new watch resumes from the last version seen, a broken one after
   * a short pause, and one whose version was compacted away (410) after the claim is read again.
   */
  async #watchUntilSettled(
    namespace: string,
    id: string,
    resourceVersion: string | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<SandboxInfo> {
    const path = `/apis/${SandboxClaimGVK.group}/${SandboxClaimGVK.version}/namespaces/${encodeURIComponent(namespace)}/${SandboxClaimGVK.plural}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let rv = resourceVersion;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!rv) {
          const current = await this.#claim(namespace, id);
          const info = await this.#viewOf(current);
          if (info.state !== "creating") return this.#settled(info);
          rv = current.metadata.resourceVersion;
        }
        if (attempt > 0) await sleep(500, undefined, { signal: stop });
        const events = await this.#kube.watch<ClaimObject>(path, {
          query: { fieldSelector: `metadata.name=${id}`, resourceVersion: rv, allowWatchBookmarks: true },
          signal: stop,
        });
        for await (const event of events) {
          if (event.type === "ERROR") {
            const code = (event.object as { code?: number }).code ?? 500;
            if (code === 410) {
              rv = undefined;
              break;
            }
            throw errorFromResponse(code, undefined, undefined, "watching the SandboxClaim");
          }
          if (event.object?.metadata?.resourceVersion) rv = event.object.metadata.resourceVersion;
          if (event.type === "DELETED") throw new SandboxNotFoundError(`sandbox ${id} was deleted while waiting for it`, 404, "not_found");
          if (event.type !== "ADDED" && event.type !== "MODIFIED") continue;
          const info = await this.#viewOf(event.object);
          if (info.state !== "creating") return this.#settled(info);
        }
      } catch (err) {
        if (timeout.aborted) break;
        if (signal?.aborted) throw new TimeoutError(`waiting for sandbox ${id} was aborted`);
        if (err instanceof GoneError) rv = undefined;
        else if (err instanceof ApiError) throw fromApi(err, "watching the SandboxClaim");
        else if (err instanceof SandboxError) throw err;
        // Anything else broke the connection: watch again.
      }
    }
    throw new TimeoutError(`sandbox ${id} was not Ready within ${timeoutMs} ms`);
  }

  #settled(info: SandboxInfo): SandboxInfo {
    if (info.state === "failed")
      throw new SandboxFailedError(`sandbox ${info.id} failed: ${info.message ?? info.reason ?? "unknown reason"}`, info.reason);
    return info;
  }

  async #claim(namespace: string, id: string): Promise<ClaimObject> {
    try {
      return await this.#kube.get<ClaimObject>({ apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace, name: id });
    } catch (err) {
      throw fromApi(err, `sandbox "${id}" in namespace "${namespace}"`);
    }
  }

  async #sandbox(namespace: string, name: string): Promise<SandboxObject | undefined> {
    return this.#kube.getOrUndefined<SandboxObject>({ apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace, name });
  }

  async #viewOf(claim: ClaimObject): Promise<SandboxInfo> {
    const bound = boundSandboxName(claim);
    const ready = claim.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    // The Sandbox is read only once the claim is Ready (for its pod IPs and operating mode).
    const sandbox = bound && ready ? await this.#sandbox(claim.metadata.namespace ?? "", bound) : undefined;
    return viewOf(claim, sandbox, undefined, Date.now());
  }

  async get(namespace: string, id: string): Promise<SandboxInfo> {
    return this.#viewOf(await this.#claim(namespace, id));
  }

  async list(opts: ListOptions): Promise<SandboxList> {
    const namespace = opts.namespace ?? this.defaultNamespace;
    const labelSelector = opts.labels
      ? Object.entries(opts.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(",")
      : undefined;
    let claims: ClaimObject[];
    let sandboxes: SandboxObject[];
    try {
      claims = (await this.#kube.list<ClaimObject>(SandboxClaimGVK, { namespace, ...(labelSelector ? { labelSelector } : {}) })).items;
      sandboxes = (await this.#kube.list<SandboxObject>(SandboxGVK, { namespace })).items;
    } catch (err) {
      throw fromApi(err, `listing sandboxes in namespace "${namespace}"`);
    }
    const byName = new Map(sandboxes.map((s) => [s.metadata.name ?? "", s]));
    const states = opts.state ? ([] as string[]).concat(opts.state) : [];
    const all = claims
      .map((c) => viewOf(c, byName.get(boundSandboxName(c) ?? ""), undefined, Date.now()))
      .filter((v) => states.length === 0 || states.includes(v.state))
      .filter((v) => !opts.template || v.template === opts.template)
      .sort((a, b) => (a.createTime ?? "").localeCompare(b.createTime ?? "") || a.id.localeCompare(b.id));
    const start = opts.pageToken ? Number(Buffer.from(opts.pageToken, "base64url").toString()) : 0;
    const limit = opts.limit ?? 50;
    const page = all.slice(start, start + limit);
    return {
      sandboxes: page,
      ...(start + limit < all.length ? { nextPageToken: Buffer.from(String(start + limit)).toString("base64url") } : {}),
    };
  }

  async delete(namespace: string, id: string): Promise<void> {
    try {
      await this.#kube.delete(
        { apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace, name: id },
        { propagationPolicy: "Background" },
      );
    } catch (err) {
      throw fromApi(err, `deleting sandbox "${id}"`);
    }
    this.#endpoints.delete(`${namespace}/${id}`);
  }

  /** Merge-patches the bound Sandbox's spec.operatingMode (needs `patch` on that Sandbox); the view is read right after. */
  async setOperatingMode(namespace: string, id: string, mode: OperatingMode): Promise<SandboxInfo> {
    const claim = await this.#claim(namespace, id);
    const bound = boundSandboxName(claim);
    if (!bound) throw new SandboxNotReadyError(`SandboxClaim "${id}" has no Sandbox yet`, 409, "not_bound");
    try {
      await this.#kube.patch(
        { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace, name: bound },
        { spec: { operatingMode: mode } },
        { type: "merge" },
      );
    } catch (err) {
      if (isNotFound(err))
        throw new SandboxNotReadyError(`SandboxClaim "${id}" names Sandbox "${bound}", which does not exist`, 409, "not_bound");
      throw fromApi(err, `${mode === "Suspended" ? "suspending" : "resuming"} sandbox "${id}"`);
    }
    // Its pod goes (and a resumed one comes back at another address).
    this.#endpoints.delete(`${namespace}/${id}`);
    return this.get(namespace, id);
  }

  async warmPools(namespace: string): Promise<WarmPoolInfo[]> {
    const pools = (
      await this.#kube.list<PoolObject>(SandboxWarmPoolGVK, { namespace }).catch((err: unknown) => {
        throw fromApi(err, `listing warm pools in namespace "${namespace}"`);
      })
    ).items;
    return pools
      .map((p) => ({
        name: p.metadata.name ?? "",
        namespace,
        template: p.spec.sandboxTemplateRef.name,
        replicas: p.spec.replicas,
        readyReplicas: p.status?.readyReplicas ?? 0,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async scaleWarmPool(namespace: string, name: string, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new InvalidRequestError(`replicas must be a whole number >= 0, got ${replicas}`, 400, "bad_request");
    try {
      await this.#kube.patch(
        { apiVersion: SandboxWarmPoolGVK.apiVersion, kind: SandboxWarmPoolGVK.kind, namespace, name },
        { spec: { replicas } },
        { type: "merge", subresource: "scale" },
      );
    } catch (err) {
      throw fromApi(err, `scaling SandboxWarmPool "${name}"`);
    }
  }

  /** The pod's execution server and its token, looked up once and reused briefly. */
  async #endpoint(namespace: string, id: string): Promise<PodEndpoint> {
    const key = `${namespace}/${id}`;
    const cached = this.#endpoints.get(key);
    if (cached && Date.now() < cached.until) return cached;
    const endpoint = this.#tokenIssuerUrl ? await this.#issued(this.#tokenIssuerUrl, namespace, id) : await this.#lookedUp(namespace, id);
    this.#endpoints.set(key, endpoint);
    return endpoint;
  }

  /** Token and pod from the router, which checks that the caller may run code in the sandbox. */
  async #issued(issuer: string, namespace: string, id: string): Promise<PodEndpoint> {
    const auth: RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(auth);
    const authorization =
      (auth.headers as Record<string, string | undefined>)["Authorization"] ??
      (auth.headers as Record<string, string | undefined>)["authorization"];
    if (!authorization)
      throw new SandboxError(
        "the kubeconfig's user has no bearer token to show the router (client certificates do not reach it); use router mode",
      );
    const res = await httpRequest(
      `${issuer}/v1/sandboxes/${encodeURIComponent(id)}/execd-token?namespace=${encodeURIComponent(namespace)}`,
      {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: "{}",
      },
    ).catch((err: unknown) => {
      throw new SandboxError(`could not reach the router at ${issuer} for sandbox ${id}'s token: ${(err as Error).message}`);
    });
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw errorFromResponse(res.status, body, res.headers, `getting sandbox ${id}'s execution token`);
    const answer = body as ExecdTokenAnswer;
    const addr = await this.#map({ namespace, sandboxName: answer.sandbox.name, podIP: answer.podIP, port: this.#execPort });
    const until = Math.min(Date.now() + ENDPOINT_CACHE_MS, Date.parse(answer.expiresAt) - TOKEN_RENEW_BEFORE_MS);
    return { url: urlOf(addr), token: answer.token, until };
  }

  /** The pod from the API server, called without a token (a sandbox's own server that asks for none). */
  async #lookedUp(namespace: string, id: string): Promise<PodEndpoint> {
    const claim = await this.#kube.getOrUndefined<ClaimObject>({
      apiVersion: SandboxClaimGVK.apiVersion,
      kind: SandboxClaimGVK.kind,
      namespace,
      name: id,
    });
    const sandboxName = claim ? boundSandboxName(claim) : id;
    const sandbox = sandboxName ? await this.#sandbox(namespace, sandboxName) : undefined;
    if (!sandbox) {
      if (claim) throw new SandboxNotReadyError(`sandbox ${id} has no Sandbox yet`, 503, "not_ready");
      throw new SandboxNotFoundError(`no Sandbox or SandboxClaim "${id}" in namespace "${namespace}"`, 404, "not_found");
    }
    const podIP = sandbox.status?.podIPs?.[0];
    const ready = sandbox.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (!podIP || !ready) throw new SandboxNotReadyError(`sandbox ${sandbox.metadata.name ?? id} is not Ready`, 503, "not_ready");
    const addr = await this.#map({ namespace, sandboxName: sandbox.metadata.name ?? id, podIP, port: this.#execPort });
    return { url: urlOf(addr), token: undefined, until: Date.now() + ENDPOINT_CACHE_MS };
  }

  async request(namespace: string, id: string, path: string, init: RequestInit): Promise<Response> {
    const endpoint = await this.#endpoint(namespace, id);
    const headers = new Headers(init.headers);
    if (endpoint.token) headers.set("authorization", `Bearer ${endpoint.token}`);
    try {
      const res = await httpRequest(`${endpoint.url}${path}`, { ...init, headers });
      if (res.status === 401 && !endpoint.token) {
        await res.body?.cancel();
        throw new UnauthorizedError(
          `sandbox ${id}'s execution server wants a token the router signs: give the client tokenIssuerUrl (the router's URL)`,
          401,
          "unauthorized",
        );
      }
      // A token the pod refused (its sandbox was replaced meanwhile) is not reused.
      if (res.status === 401) this.#endpoints.delete(`${namespace}/${id}`);
      return res;
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      this.#endpoints.delete(`${namespace}/${id}`);
      if (err instanceof Error && err.name === "AbortError") throw err;
      throw new SandboxError(`could not reach sandbox ${id} at ${endpoint.url}: ${(err as Error).message}`);
    }
  }
}

function urlOf(addr: { host: string; port: number }): string {
  return `http://${addr.host.includes(":") ? `[${addr.host}]` : addr.host}:${addr.port}`;
}

function loadDefault(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
