// Read-your-writes: a client whose every write is shown by the informer caches until their
// watch catches up (the idea of client-go's MutationCache). A reconcile that runs between a
// write and its watch event then reads what it wrote, instead of the version before it, and
// neither repeats the write nor acts on the stale object (adopting a pool member twice, say).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Informer } from "./informer.js";
import type { Kube, WriteOptions } from "./kube.js";

/** The object verbs controllers use; a unit test may give an in-memory one. */
export type ObjectClient = Pick<Kube, "getOrUndefined" | "create" | "apply" | "applyStatus" | "patch" | "delete">;

/**
 * Wraps `client` so that every object a write returns is recorded in the informer of its kind
 * (see Informer.observe). Dry runs record nothing. Deletions are left to the watch: a
 * terminating object still exists, and a tombstone could hide an object created again.
 */
export function readYourWrites(client: ObjectClient, informers: ReadonlyArray<Informer<KubernetesObject>>): ObjectClient {
  const record = <T>(obj: T, opts: WriteOptions | undefined): T => {
    if (opts?.dryRun || typeof obj !== "object" || obj === null) return obj;
    const o = obj as KubernetesObject;
    informers.find((i) => i.apiVersion === o.apiVersion && i.kind === o.kind)?.observe(o);
    return obj;
  };
  return {
    getOrUndefined: (ref, opts) => client.getOrUndefined(ref, opts),
    create: async (obj, opts) => record(await client.create(obj, opts), opts),
    apply: async (obj, opts) => record(await client.apply(obj, opts), opts),
    applyStatus: async (obj, opts) => record(await client.applyStatus(obj, opts), opts),
    patch: async <T extends KubernetesObject>(...args: Parameters<ObjectClient["patch"]>) =>
      record(await client.patch<T>(...args), args[2]),
    delete: (ref, opts) => client.delete(ref, opts),
  };
}
