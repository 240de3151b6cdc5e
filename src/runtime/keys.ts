// Work-queue keys are "namespace/name" (or "name" for cluster-scoped objects), as in client-go's
// MetaNamespaceKeyFunc. Reconcilers get the key, never the event.

export interface ObjectKey {
  /** Empty string for cluster-scoped objects. */
  namespace: string;
  name: string;
}

interface HasMeta {
  metadata?: { namespace?: string | undefined; name?: string | undefined } | undefined;
}

export function keyOf(obj: HasMeta): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error("keyOf: object has no metadata.name");
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function makeKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): ObjectKey {
  const parts = key.split("/");
  if (parts.length === 1 && parts[0]) return { namespace: "", name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new Error(`splitKey: "${key}" is not "namespace/name" or "name"`);
}

/**
 * What the runtime reads of an object it writes, owns or reports on: its type and identity.
 * client-node's models and this project's API types (whose timestamps may still be strings) both
 * fit, so neither needs a cast to the other.
 */
export interface ObjectIdentity {
  apiVersion?: string | undefined;
  kind?: string | undefined;
  metadata?:
    | {
        name?: string | undefined;
        generateName?: string | undefined;
        namespace?: string | undefined;
        uid?: string | undefined;
        resourceVersion?: string | undefined;
      }
    | undefined;
}
