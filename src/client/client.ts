// Entry point of the SDK: a client bound to the router (URL + token) or to Kubernetes.
import type { KubeConfig } from "@kubernetes/client-node";
import type { ControlPlane, DataPlane } from "./connection.js";
import { KubeConnection, type DirectAddressMapper } from "./kube-connection.js";
import { RouterConnection } from "./router-connection.js";
import { Sandbox } from "./sandbox.js";
import type { CreateSandboxOptions, ListOptions, SandboxInfo, SandboxList, WarmPoolInfo } from "./types.js";

export interface SandboxClientOptions {
  /** Router URL (env SANDBOX_ROUTER_URL). With a token this selects router mode. */
  routerUrl?: string | undefined;
  /** Kubernetes bearer token or router-signed sandbox token (env SANDBOX_TOKEN). */
  token?: string | undefined;
  /** Kubernetes mode (no router URL): the kubeconfig to use (default: in-cluster or ~/.kube/config). */
  kubeConfig?: KubeConfig | undefined;
  namespace?: string | undefined;
  /** Kubernetes mode: where pod IPs are dialled (a port-forward, or tests' simulated pod network). */
  mapAddress?: DirectAddressMapper | undefined;
  /**
   * Kubernetes mode: the router that issues execution-server tokens to callers allowed to run
   * code in the sandbox (env SANDBOX_TOKEN_ISSUER_URL), e.g. the router's Service URL.
   */
  tokenIssuerUrl?: string | undefined;
}

export class SandboxClient {
  readonly mode: "router" | "kubernetes";
  readonly #control: ControlPlane;
  readonly #data: DataPlane;

  constructor(o: SandboxClientOptions = {}) {
    const routerUrl = o.routerUrl ?? (o.kubeConfig ? undefined : process.env["SANDBOX_ROUTER_URL"]);
    if (routerUrl) {
      const token = o.token ?? process.env["SANDBOX_TOKEN"];
      if (!token) throw new TypeError("router mode needs a token (option token or env SANDBOX_TOKEN)");
      const c = new RouterConnection({ url: routerUrl, token, namespace: o.namespace });
      this.mode = "router";
      this.#control = c;
      this.#data = c;
    } else {
      const c = new KubeConnection({
        kubeConfig: o.kubeConfig,
        namespace: o.namespace,
        mapAddress: o.mapAddress,
        tokenIssuerUrl: o.tokenIssuerUrl ?? process.env["SANDBOX_TOKEN_ISSUER_URL"],
      });
      this.mode = "kubernetes";
      this.#control = c;
      this.#data = c;
    }
  }

  get defaultNamespace(): string {
    return this.#control.defaultNamespace;
  }

  /** Claims a sandbox and resolves once it is Ready (watch-based wait, TimeoutError otherwise). */
  async createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
    if (Boolean(opts.warmPool) === Boolean(opts.template)) throw new TypeError("createSandbox: give exactly one of warmPool or template");
    const { info, accessToken } = await this.#control.create(opts);
    return new Sandbox(info, this.#control, this.#data, accessToken);
  }

  /** A handle on an existing sandbox (by the id createSandbox returned). */
  async getSandbox(id: string, opts: { namespace?: string } = {}): Promise<Sandbox> {
    const info = await this.#control.get(opts.namespace ?? this.defaultNamespace, id);
    return new Sandbox(info, this.#control, this.#data);
  }

  /** A handle without a lookup (e.g. for a sandbox token that may not read the claim). */
  connect(id: string, opts: { namespace?: string } = {}): Sandbox {
    const namespace = opts.namespace ?? this.defaultNamespace;
    return new Sandbox({ id, namespace, state: "running", warmPool: "", labels: {} }, this.#control, this.#data);
  }

  waitReady(id: string, opts: { namespace?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SandboxInfo> {
    return this.#control.waitReady(opts.namespace ?? this.defaultNamespace, id, opts.timeoutMs ?? 180_000, opts.signal);
  }

  listSandboxes(opts: ListOptions = {}): Promise<SandboxList> {
    return this.#control.list({ ...opts, namespace: opts.namespace ?? this.defaultNamespace });
  }

  deleteSandbox(id: string, opts: { namespace?: string } = {}): Promise<void> {
    return this.#control.delete(opts.namespace ?? this.defaultNamespace, id);
  }

  /** Suspends a sandbox by id (its pod is deleted; see Sandbox.suspend). */
  suspendSandbox(id: string, opts: { namespace?: string } = {}): Promise<SandboxInfo> {
    return this.#control.setOperatingMode(opts.namespace ?? this.defaultNamespace, id, "Suspended");
  }

  /** Resumes a suspended sandbox by id in a new pod (state and an emptyDir workspace are lost; see Sandbox.resume). */
  resumeSandbox(id: string, opts: { namespace?: string } = {}): Promise<SandboxInfo> {
    return this.#control.setOperatingMode(opts.namespace ?? this.defaultNamespace, id, "Running");
  }

  listWarmPools(opts: { namespace?: string } = {}): Promise<WarmPoolInfo[]> {
    return this.#control.warmPools(opts.namespace ?? this.defaultNamespace);
  }

  scaleWarmPool(name: string, replicas: number, opts: { namespace?: string } = {}): Promise<void> {
    return this.#control.scaleWarmPool(opts.namespace ?? this.defaultNamespace, name, replicas);
  }
}

/** One-call form: `const sb = await createSandbox({ warmPool: "python", routerUrl, token })`. */
export function createSandbox(opts: CreateSandboxOptions & SandboxClientOptions): Promise<Sandbox> {
  return new SandboxClient(opts).createSandbox(opts);
}
