import { LabelKeys } from "../../api/index.js";
import { managedByLabel } from "./caches.js";
import { nameHash } from "./name-hash.js";

/** Labels every child of a sandbox carries: the informers' selector and the pod selector hash. */
export function childLabels(sandboxName: string): Record<string, string> {
  return { ...managedByLabel, [LabelKeys.SandboxNameHash]: nameHash(sandboxName) };
}

/** The labels that select a sandbox's pod (Service selector, NetworkPolicy podSelector). */
export function sandboxPodSelector(sandboxName: string): Record<string, string> {
  return { [LabelKeys.SandboxNameHash]: nameHash(sandboxName) };
}

/** The label selector of a sandbox's pod, as written to status.selector. */
export function sandboxSelector(sandboxName: string): string {
  return `${LabelKeys.SandboxNameHash}=${nameHash(sandboxName)}`;
}
