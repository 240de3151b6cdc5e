import { AnnotationKeys, LabelKeys, LaunchType } from "../../api/index.js";

/** What the reconciler wants recorded on a claim's metadata this pass. */
export interface ClaimAnnotationIntent {
  /** The first-observed time to stamp, if the claim has none yet (see FirstObserved). */
  firstObservedAt?: string | undefined;
  /** The warm-pool Sandbox the claim adopted, if it has one. */
  adoptedSandbox?: string | undefined;
}

/**
 * The annotations to merge-patch onto a claim, or undefined when it already says all of it. The
 * first-observed time is written once and never corrected; the adopted Sandbox's name is set
 * whenever it differs. Nothing is removed. Pure.
 */
export function claimAnnotationsToSet(
  current: Readonly<Record<string, string>> | undefined,
  want: ClaimAnnotationIntent,
): Record<string, string> | undefined {
  const set: Record<string, string> = {};
  if (want.firstObservedAt && !current?.[AnnotationKeys.ControllerFirstObservedAt]) {
    set[AnnotationKeys.ControllerFirstObservedAt] = want.firstObservedAt;
  }
  if (want.adoptedSandbox && current?.[AnnotationKeys.SandboxName] !== want.adoptedSandbox) {
    set[AnnotationKeys.SandboxName] = want.adoptedSandbox;
  }
  return Object.keys(set).length > 0 ? set : undefined;
}

/**
 * Whether the claim's Sandbox came from the warm pool (as opposed to being created for the claim),
 * by its launch-type label, or, for a Sandbox that lacks one, by its name: a cold-started Sandbox
 * bears the claim's name (upstream's rule for the same question). Pure.
 */
export function isAdoptedSandbox(
  claimName: string,
  sandbox: { metadata: { name: string; labels?: Record<string, string> | undefined } },
): boolean {
  const launchType = sandbox.metadata.labels?.[LabelKeys.LaunchType];
  if (launchType) return launchType === LaunchType.Warm;
  return sandbox.metadata.name !== claimName;
}
