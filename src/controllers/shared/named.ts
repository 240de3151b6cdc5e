/**
 * Objects read from the API server always have a name and (for namespaced kinds)
 * a namespace; the zod types leave them optional because manifests may use
 * generateName. The reconcilers narrow once, here, instead of at every use.
 */
export type Named<T extends { metadata: object }> = T & {
  metadata: T["metadata"] & { name: string; namespace: string; uid: string };
};

export function isNamed<T extends { metadata: { name?: string | undefined; namespace?: string | undefined; uid?: string | undefined } }>(
  obj: T,
): obj is Named<T> {
  return Boolean(obj.metadata.name && obj.metadata.namespace && obj.metadata.uid);
}
