import { SandboxGVK } from "../../api/index.js";
import { ignoreNotFound, type ObjectRef } from "../../runtime/index.js";
import type { KubeClient } from "../deps.js";

/** The name and namespace of a Sandbox, as the objects the controllers hold carry them. */
export interface SandboxName {
  metadata: { name: string; namespace: string; uid?: string | undefined };
}

/** Where a Sandbox is written to. */
export function sandboxRef(sandbox: SandboxName): ObjectRef {
  return { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: sandbox.metadata.namespace, name: sandbox.metadata.name };
}

/**
 * Deletes this very Sandbox: the UID precondition leaves alone one created again under the same
 * name since it was read, and one already gone is no error.
 */
export async function deleteSandbox(kube: KubeClient, sandbox: SandboxName, signal: AbortSignal): Promise<void> {
  await ignoreNotFound(kube.delete(sandboxRef(sandbox), { preconditions: { uid: sandbox.metadata.uid }, signal }));
}
