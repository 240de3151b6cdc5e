// Who is calling, and may they? Kubernetes bearer tokens are checked with TokenReview and
// every permission with a SubjectAccessReview, both answered by the API server and reused for
// a few seconds (bounded LRU); router-signed scoped tokens are checked locally.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { LRUCache } from "lru-cache";
import { EXTENSIONS_GROUP, SANDBOX_GROUP } from "../api/index.js";
import type { Kube, Logger } from "../runtime/index.js";
import { forbidden, unauthenticated } from "./errors.js";
import { presentedToken } from "./credentials.js";
import type { RouterMetrics } from "./metrics.js";
import { scopedAllows, scopedRefusal, type TargetIdentity } from "./scoped-access.js";
import { looksScoped, type ScopedSubject, type ScopedTokens } from "./scoped-token.js";

export interface UserInfo {
  username: string;
  uid?: string | undefined;
  groups?: string[] | undefined;
  extra?: Record<string, string[]> | undefined;
}

export type Caller = { kind: "user"; user: UserInfo; token: string } | { kind: "scoped"; subject: ScopedSubject };

/**
 * What a request wants to do. Running anything in a sandbox (proxy, execute, files) is
 * `create` on `sandboxes/exec` in agents.x-k8s.io, like `create pods/exec` for kubectl exec:
 * a role that may only read Sandboxes cannot run code in them. Suspending and resuming write the
 * Sandbox's spec.operatingMode, so they are `patch` on `sandboxes` in agents.x-k8s.io. Management
 * calls use the verbs of sandboxclaims (and sandboxwarmpools) in extensions.agents.x-k8s.io.
 * `target` is what the request resolved to in the caches; Kubernetes callers are asked about by
 * name, sandbox tokens are matched on its UIDs.
 */
export type Action =
  | { kind: "exec"; namespace: string; requestedName: string; target: TargetIdentity }
  | { kind: "sandbox"; verb: "patch"; namespace: string; requestedName: string; target: TargetIdentity }
  | {
      kind: "claim";
      verb: "get" | "list" | "create" | "delete";
      namespace: string;
      name?: string | undefined;
      target?: TargetIdentity | undefined;
    }
  | { kind: "pool"; verb: "list" | "scale"; namespace: string; name?: string | undefined };

interface ResourceAttributes {
  namespace: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

export function resourceAttributes(action: Action): ResourceAttributes {
  switch (action.kind) {
    case "exec":
      return {
        namespace: action.namespace,
        verb: "create",
        group: SANDBOX_GROUP,
        resource: "sandboxes",
        subresource: "exec",
        name: action.target.sandbox?.name ?? action.requestedName,
      };
    case "sandbox":
      return {
        namespace: action.namespace,
        verb: action.verb,
        group: SANDBOX_GROUP,
        resource: "sandboxes",
        name: action.target.sandbox?.name ?? action.requestedName,
      };
    case "claim":
      return {
        namespace: action.namespace,
        verb: action.verb,
        group: EXTENSIONS_GROUP,
        resource: "sandboxclaims",
        ...(action.name ? { name: action.name } : {}),
      };
    case "pool":
      return action.verb === "scale"
        ? {
            namespace: action.namespace,
            verb: "update",
            group: EXTENSIONS_GROUP,
            resource: "sandboxwarmpools",
            subresource: "scale",
            ...(action.name ? { name: action.name } : {}),
          }
        : { namespace: action.namespace, verb: "list", group: EXTENSIONS_GROUP, resource: "sandboxwarmpools" };
  }
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: UserInfo;
  error?: string;
}

export interface AuthenticatorOptions {
  kube: Kube;
  scoped: ScopedTokens;
  logger: Logger;
  metrics: RouterMetrics;
  cacheTtlMs: number;
  cacheMax: number;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

export class Authenticator {
  readonly #o: AuthenticatorOptions;
  /** sha256(token) -> user, or false for a token the API server rejected. */
  readonly #tokens: LRUCache<string, { user: UserInfo } | { rejected: string }>;
  readonly #decisions: LRUCache<string, { allowed: boolean; reason: string }>;

  constructor(o: AuthenticatorOptions) {
    this.#o = o;
    this.#tokens = new LRUCache({ max: o.cacheMax, ttl: o.cacheTtlMs });
    this.#decisions = new LRUCache({ max: o.cacheMax, ttl: o.cacheTtlMs });
  }

  /** The caller behind `Authorization` (see presentedToken), or a 401 RouterError. */
  async authenticate(req: IncomingMessage): Promise<Caller> {
    const token = presentedToken(req.headers.authorization);
    if (looksScoped(token)) {
      try {
        const subject = await this.#o.scoped.verify(token);
        this.#o.metrics.authentications.inc({ method: "scoped", result: "ok" });
        return { kind: "scoped", subject };
      } catch (err) {
        this.#o.metrics.authentications.inc({ method: "scoped", result: "rejected" });
        throw unauthenticated(`sandbox token rejected: ${(err as Error).message}`);
      }
    }
    const key = sha256(token);
    let entry = this.#tokens.get(key);
    if (entry) this.#o.metrics.authCacheHits.inc({ cache: "tokenreview" });
    else {
      entry = await this.#tokenReview(token);
      this.#tokens.set(key, entry);
    }
    if ("rejected" in entry) throw unauthenticated(`token rejected by the Kubernetes API server: ${entry.rejected}`);
    return { kind: "user", user: entry.user, token };
  }

  /** Resolves if `caller` may do `action`; otherwise throws a 403 RouterError. */
  async authorize(caller: Caller, action: Action): Promise<void> {
    const attrs = resourceAttributes(action);
    if (caller.kind === "scoped") {
      if (scopedAllows(caller.subject, action)) return;
      throw forbidden(scopedRefusal(caller.subject, describe(attrs)));
    }
    // A caller allowed on every object of the kind in the namespace (a rule without
    // resourceNames, the usual Role) is allowed on each one: asking that once per namespace and
    // reusing it spares every new sandbox's first call a SubjectAccessReview round trip (one per
    // claim in the warm-claim benchmark). Only when it is refused is the named object asked about,
    // so a Role limited to resourceNames keeps working.
    if (attrs.name !== undefined) {
      const { name: _name, ...everyName } = attrs;
      if ((await this.#decide(caller.user, everyName)).allowed) return;
    }
    const decision = await this.#decide(caller.user, attrs);
    if (!decision.allowed) {
      throw forbidden(`user "${caller.user.username}" cannot ${describe(attrs)}${decision.reason ? ` (${decision.reason})` : ""}`);
    }
  }

  async #decide(user: UserInfo, attrs: ResourceAttributes): Promise<{ allowed: boolean; reason: string }> {
    const key = JSON.stringify([user.username, user.uid, user.groups, user.extra, attrs]);
    let decision = this.#decisions.get(key);
    if (decision) this.#o.metrics.authCacheHits.inc({ cache: "subjectaccessreview" });
    else {
      decision = await this.#subjectAccessReview(user, attrs);
      this.#decisions.set(key, decision);
    }
    return decision;
  }

  async #tokenReview(token: string): Promise<{ user: UserInfo } | { rejected: string }> {
    const review = await this.#o.kube.request<{ status?: TokenReviewStatus }>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
    });
    const status = review.status ?? {};
    const ok = status.authenticated === true && status.user?.username;
    this.#o.metrics.authentications.inc({ method: "tokenreview", result: ok ? "ok" : "rejected" });
    if (!ok || !status.user) return { rejected: status.error || "not authenticated" };
    return { user: status.user };
  }

  async #subjectAccessReview(user: UserInfo, attrs: ResourceAttributes): Promise<{ allowed: boolean; reason: string }> {
    const review = await this.#o.kube.request<{ status?: { allowed?: boolean; denied?: boolean; reason?: string } }>(
      "POST",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.groups ? { groups: user.groups } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
            resourceAttributes: attrs,
          },
        },
      },
    );
    const allowed = review.status?.allowed === true && review.status.denied !== true;
    this.#o.metrics.authorizations.inc({ result: allowed ? "allowed" : "denied" });
    return { allowed, reason: review.status?.reason ?? "" };
  }
}

function describe(a: ResourceAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return `${a.verb} ${resource}.${a.group}${a.name ? ` "${a.name}"` : ""} in namespace "${a.namespace}"`;
}
