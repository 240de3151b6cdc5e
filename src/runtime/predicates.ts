// Update predicates (controller-runtime's predicate package): which updates of a watched object
// are worth a reconcile. Adds and deletes always pass; these only thin out updates, so a
// controller is not woken by writes it does not read, such as another controller's status.
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";

/** Decides whether an update (new object, previous object) should enqueue work. */
export type UpdatePredicate<T> = (obj: T, old: T) => boolean;

/**
 * The object's spec changed: metadata.generation moved. Kinds whose objects carry no generation
 * (or a pair where either side lacks it) always pass, since nothing then tells a spec change
 * from a status one (controller-runtime's GenerationChangedPredicate).
 */
export function generationChanged<T extends KubernetesObject>(obj: T, old: T): boolean {
  const now = obj.metadata?.generation;
  const before = old.metadata?.generation;
  return now === undefined || before === undefined || now !== before;
}

/**
 * The spec or the metadata a controller acts on changed: generation, labels, annotations, owner
 * references, finalizers or the deletion timestamp. A status-only write, the object's own
 * controller's included, does not pass.
 */
export function specOrMetadataChanged<T extends KubernetesObject>(obj: T, old: T): boolean {
  if (generationChanged(obj, old)) return true;
  const a = obj.metadata ?? {};
  const b = old.metadata ?? {};
  return (
    !isDeepStrictEqual(a.deletionTimestamp, b.deletionTimestamp) ||
    !isDeepStrictEqual(a.labels ?? {}, b.labels ?? {}) ||
    !isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}) ||
    !isDeepStrictEqual(a.ownerReferences ?? [], b.ownerReferences ?? []) ||
    !isDeepStrictEqual(a.finalizers ?? [], b.finalizers ?? [])
  );
}
