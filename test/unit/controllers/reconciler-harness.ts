// What a reconciler is given (ControllerDeps), in memory: caches filled by hand, and a client
// that keeps objects like a small API server (create refuses a taken name, delete honours a
// UID precondition, apply and merge patches change the stored object) and records every write.
// A reconciler's branches then run in unit tests, without an API server.
import type { KubernetesObject } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { defaultOperatorConfig, type OperatorConfig } from "../../../src/config/operator-config.js";
import type { ControllerDeps, EventSink, KubeClient } from "../../../src/controllers/deps.js";
import { allInformers, createCaches, type Caches } from "../../../src/controllers/shared/caches.js";
import { ClaimsFirstGate } from "../../../src/controllers/shared/claims-first-gate.js";
import { createOperatorMetrics } from "../../../src/controllers/shared/metrics.js";
import {
  apiErrorFrom,
  keyOf,
  readYourWrites,
  silentLogger,
  type DeleteOptions,
  type EventInput,
  type ObjectRef,
  type ReconcileContext,
  type WriteOptions,
} from "../../../src/runtime/index.js";
import { unstartedKube } from "../unstarted-kube.js";

/** One write the reconciler made, in order. */
export interface RecordedWrite {
  verb: "create" | "apply" | "applyStatus" | "patch" | "delete";
  kind: string;
  namespace: string;
  name: string;
  /** The object sent (create, apply), the patch body, or undefined for a delete. */
  body: unknown;
  /** The delete's preconditions, when it had any. */
  preconditions?: DeleteOptions["preconditions"];
  /** The delete's grace period, when it set one. */
  gracePeriodSeconds?: number;
}

const storeKey = (kind: string, namespace: string | undefined, name: string | undefined): string =>
  `${kind}/${namespace ?? ""}/${name ?? ""}`;

function statusError(method: string, code: number, reason: string, message: string): Error {
  return apiErrorFrom(method, "(in memory)", code, { kind: "Status", code, reason, message });
}

/** Deep merge as JSON merge patch (RFC 7386) does: null deletes, objects merge, the rest replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The API server, as far as reconcilers use it: objects by kind, namespace and name. */
export class InMemoryKube implements KubeClient {
  readonly writes: RecordedWrite[] = [];
  readonly #objects = new Map<string, KubernetesObject>();
  readonly #failures: Array<{ verb: RecordedWrite["verb"]; kind: string; error: Error }> = [];
  #nextUid = 1;
  #nextRv = 1;

  /** Puts objects in the store as if they already existed (the caches are filled separately). */
  preload(...objects: object[]): void {
    for (const o of objects as KubernetesObject[]) {
      this.#objects.set(storeKey(o.kind ?? "", o.metadata?.namespace, o.metadata?.name), structuredClone(o));
      // Versions go up from the highest preloaded one, as the API server's do.
      const rv = Number(o.metadata?.resourceVersion);
      if (Number.isInteger(rv) && rv >= this.#nextRv) this.#nextRv = rv + 1;
    }
  }

  /** The next `verb` on `kind` fails with this error instead of being applied (recorded all the same). */
  failNext(verb: RecordedWrite["verb"], kind: string, error: Error): void {
    this.#failures.push({ verb, kind, error });
  }

  /** The stored object, if any. */
  stored(kind: string, namespace: string, name: string): KubernetesObject | undefined {
    return this.#objects.get(storeKey(kind, namespace, name));
  }

  #record(w: RecordedWrite): void {
    this.writes.push(w);
    const i = this.#failures.findIndex((f) => f.verb === w.verb && f.kind === w.kind);
    if (i >= 0) throw this.#failures.splice(i, 1)[0]!.error;
  }

  #stamp<T extends KubernetesObject>(obj: T, existing: KubernetesObject | undefined): T {
    return {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: existing?.metadata?.uid ?? obj.metadata?.uid ?? `uid-${this.#nextUid++}`,
        resourceVersion: String(this.#nextRv++),
      },
    };
  }

  async getOrUndefined<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    const found = this.#objects.get(storeKey(ref.kind, ref.namespace, ref.name));
    return found ? (structuredClone(found) as T) : undefined;
  }

  async create<T extends KubernetesObject>(obj: T, _opts?: WriteOptions): Promise<T> {
    const kind = obj.kind ?? "";
    const { namespace = "", name = "" } = obj.metadata ?? {};
    this.#record({ verb: "create", kind, namespace, name, body: structuredClone(obj) });
    if (this.#objects.has(storeKey(kind, namespace, name)))
      throw statusError("POST", 409, "AlreadyExists", `${kind} ${name} already exists`);
    const created = this.#stamp(structuredClone(obj), undefined);
    this.#objects.set(storeKey(kind, namespace, name), created);
    return structuredClone(created);
  }

  async apply<T extends KubernetesObject>(obj: T, _opts?: WriteOptions): Promise<T> {
    return this.#apply("apply", obj);
  }

  async applyStatus<T extends KubernetesObject>(obj: T, _opts?: WriteOptions): Promise<T> {
    return this.#apply("applyStatus", obj);
  }

  #apply<T extends KubernetesObject>(verb: "apply" | "applyStatus", obj: T): T {
    const kind = obj.kind ?? "";
    const { namespace = "", name = "" } = obj.metadata ?? {};
    this.#record({ verb, kind, namespace, name, body: structuredClone(obj) });
    const key = storeKey(kind, namespace, name);
    const existing = this.#objects.get(key);
    if (verb === "applyStatus" && !existing) throw statusError("PATCH", 404, "NotFound", `${kind} ${name} not found`);
    const merged = existing ? (mergePatch(existing, obj) as T) : structuredClone(obj);
    const stored = this.#stamp(merged, existing);
    this.#objects.set(key, stored);
    return structuredClone(stored);
  }

  async patch<T extends KubernetesObject>(ref: ObjectRef, patch: unknown): Promise<T> {
    this.#record({ verb: "patch", kind: ref.kind, namespace: ref.namespace ?? "", name: ref.name, body: structuredClone(patch) });
    const key = storeKey(ref.kind, ref.namespace, ref.name);
    const existing = this.#objects.get(key);
    if (!existing) throw statusError("PATCH", 404, "NotFound", `${ref.kind} ${ref.name} not found`);
    const stored = this.#stamp(mergePatch(existing, patch) as KubernetesObject, existing);
    this.#objects.set(key, stored);
    return structuredClone(stored) as T;
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<void> {
    this.#record({
      verb: "delete",
      kind: ref.kind,
      namespace: ref.namespace ?? "",
      name: ref.name,
      body: undefined,
      ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
      ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
    });
    const key = storeKey(ref.kind, ref.namespace, ref.name);
    const existing = this.#objects.get(key);
    if (!existing) throw statusError("DELETE", 404, "NotFound", `${ref.kind} ${ref.name} not found`);
    if (opts.preconditions?.uid && opts.preconditions.uid !== existing.metadata?.uid) {
      throw statusError(
        "DELETE",
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${existing.metadata?.uid}`,
      );
    }
    this.#objects.delete(key);
  }
}

/** Events as recorded, in order. */
export class RecordedEvents implements EventSink {
  readonly events: Array<{ regarding: string; type: string; reason: string; note: string }> = [];
  event(regarding: KubernetesObject, ev: EventInput): void {
    this.events.push({ regarding: keyOf(regarding), type: ev.type, reason: ev.reason, note: ev.note ?? "" });
  }
}

/** Caches that are never started: filled by the test through Informer.seed. */
function unstartedCaches(): Caches {
  return createCaches(unstartedKube(), silentLogger());
}

/** A reconciler's world: its deps, the in-memory API server behind them and the events it recorded. */
export interface ReconcilerWorld {
  deps: ControllerDeps;
  kube: InMemoryKube;
  events: RecordedEvents;
  /** A context for reconciling namespace/name, as the controller would pass it. */
  ctx(namespace: string, name: string): ReconcileContext;
}

/**
 * Deps whose caches hold `cached` (by kind: each object goes to the cache of its kind) and whose
 * client starts with the same objects stored, unless a test preloads something else.
 */
export function reconcilerWorld(
  o: { cached?: Partial<Record<keyof Caches, readonly object[]>>; config?: Partial<OperatorConfig>; now?: Date } = {},
): ReconcilerWorld {
  const caches = unstartedCaches();
  const kube = new InMemoryKube();
  for (const [name, objects] of Object.entries(o.cached ?? {}) as Array<[keyof Caches, KubernetesObject[]]>) {
    // Objects built with the API's zod types carry string timestamps where client-node's types say Date.
    (caches[name] as { seed(objects: readonly KubernetesObject[]): void }).seed(structuredClone(objects));
    kube.preload(...objects);
  }
  for (const informer of Object.values(caches)) if (!informer.hasSynced()) informer.seed([]);
  const events = new RecordedEvents();
  const now = o.now ?? new Date("2026-01-01T00:00:00Z");
  const deps: ControllerDeps = {
    // As the operator wires it: the caches show every write until their (here absent) watch would.
    kube: readYourWrites(kube, allInformers(caches)),
    caches,
    config: { ...defaultOperatorConfig, ...o.config },
    events,
    metrics: createOperatorMetrics(new Registry()),
    logger: silentLogger(),
    claimsFirst: new ClaimsFirstGate(),
    now: () => now,
  };
  const ctx = (namespace: string, name: string): ReconcileContext => ({
    key: `${namespace}/${name}`,
    namespace,
    name,
    signal: new AbortController().signal,
    log: silentLogger(),
    reconcileID: "test",
  });
  return { deps, kube, events, ctx };
}
