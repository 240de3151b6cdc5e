// In-memory stand-ins for the router's informers: a keyed store whose writes fire the same
// add/update/delete handlers an Informer fires, and builders of Sandboxes and claims.
import type { EventHandler } from "../../../src/runtime/index.js";
import type { ClaimObject, SandboxObject } from "../../../src/router/caches.js";

export class FakeStore<T extends { metadata?: { namespace?: string | undefined; name?: string | undefined } | undefined }> {
  readonly #objects = new Map<string, T>();
  readonly #handlers: EventHandler<T>[] = [];

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#objects.get(`${namespace ?? ""}/${name}`);
  }

  addHandler(h: EventHandler<T>): void {
    this.#handlers.push(h);
  }

  /** Adds or replaces an object, then fires the handlers (as an Informer does after its store changed). */
  put(obj: T): void {
    const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
    const old = this.#objects.get(key);
    this.#objects.set(key, obj);
    for (const h of this.#handlers) {
      if (old) h.update?.(obj, old);
      else h.add?.(obj);
    }
  }

  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.#objects.get(key);
    this.#objects.delete(key);
    if (old) for (const h of this.#handlers) h.delete?.(old);
  }
}

export function fakeCaches() {
  return { sandboxes: new FakeStore<SandboxObject>(), claims: new FakeStore<ClaimObject>() };
}

export interface SandboxOpts {
  uid: string;
  ownerClaim?: { name: string; uid: string };
  ready?: { status: "True" | "False"; reason: string; message?: string };
  podIPs?: readonly string[];
  suspended?: boolean;
  deleting?: boolean;
}

export function sandbox(name: string, o: SandboxOpts): SandboxObject {
  const ready = o.ready ?? { status: "True", reason: "DependenciesReady", message: "Pod is Ready" };
  return {
    apiVersion: "agents.x-k8s.io/v1beta1",
    kind: "Sandbox",
    metadata: {
      name,
      namespace: "ns",
      uid: o.uid,
      ...(o.ownerClaim
        ? {
            ownerReferences: [
              {
                apiVersion: "extensions.agents.x-k8s.io/v1beta1",
                kind: "SandboxClaim",
                name: o.ownerClaim.name,
                uid: o.ownerClaim.uid,
                controller: true,
              },
            ],
          }
        : {}),
      ...(o.deleting ? { deletionTimestamp: new Date("2026-01-01T00:00:00Z") } : {}),
    },
    spec: { podTemplate: { spec: { containers: [] } }, operatingMode: o.suspended ? "Suspended" : "Running" },
    status: {
      conditions: [
        {
          type: "Ready",
          status: ready.status,
          reason: ready.reason,
          message: ready.message ?? "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
      ...(o.podIPs === undefined ? { podIPs: ["10.0.0.1"] } : o.podIPs.length > 0 ? { podIPs: o.podIPs } : {}),
    },
  } as unknown as SandboxObject;
}

export function claim(
  name: string,
  o: { uid: string; sandboxName?: string; ready?: { status: "True" | "False"; reason: string; message?: string } },
): ClaimObject {
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxClaim",
    metadata: { name, namespace: "ns", uid: o.uid },
    spec: { warmPoolRef: { name: "pool" } },
    status: {
      conditions: o.ready
        ? [
            {
              type: "Ready",
              status: o.ready.status,
              reason: o.ready.reason,
              message: o.ready.message ?? "",
              lastTransitionTime: "2026-01-01T00:00:00Z",
            },
          ]
        : [],
      ...(o.sandboxName ? { sandbox: { name: o.sandboxName } } : {}),
    },
  } as ClaimObject;
}
