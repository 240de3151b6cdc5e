// Owner references so the garbage collector deletes children with their owner, and so events on
// children map back to the owner's key (controller-runtime's EnqueueRequestForOwner).
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import type { ObjectIdentity } from "./keys.js";

/** The controller reference a child should carry: controller=true, blockOwnerDeletion=true. */
export function controllerRef(owner: ObjectIdentity): V1OwnerReference {
  const { apiVersion, kind, metadata } = owner;
  if (!apiVersion || !kind || !metadata?.name || !metadata.uid) {
    throw new Error("controllerRef: owner needs apiVersion, kind, metadata.name and metadata.uid");
  }
  return { apiVersion, kind, name: metadata.name, uid: metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** What the owner-reference checks read of an object; API types of any declaration fit it. */
export interface OwnedObject {
  metadata?: { ownerReferences?: readonly V1OwnerReference[] | undefined } | undefined;
}

/** The ownerReference with controller=true, if any (there can be at most one). */
export function getControllerOf(obj: OwnedObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** True if `obj`'s controller reference points at `owner` (matched by uid). */
export function isControlledBy(obj: OwnedObject, owner: ObjectIdentity): boolean {
  const uid = owner.metadata?.uid;
  return uid !== undefined && getControllerOf(obj)?.uid === uid;
}

/** The group of an apiVersion ("" for core). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

/**
 * Returns ownerReferences with `owner` set as controller. Throws if another object already
 * controls `obj` (as controllerutil.SetControllerReference does): adopting it would steal it.
 */
export function withControllerRef(obj: KubernetesObject, owner: ObjectIdentity): V1OwnerReference[] {
  const ref = controllerRef(owner);
  const existing = getControllerOf(obj);
  if (existing && existing.uid !== ref.uid) {
    throw new Error(`${obj.kind ?? "object"} ${obj.metadata?.name ?? ""} is already controlled by ${existing.kind} ${existing.name}`);
  }
  const others = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  return [...others, ref];
}
