// What the informer caches keep of each object: only what some controller reads (every read
// site is named below), so that memory grows with the number of sandboxes as slowly as it can.
// Each function prunes in place and is idempotent (the informer may prune an object twice).
// Memory, not correctness: a field a controller starts reading must be kept here too, and
// test/unit/controllers/shared/cache-prune.test.ts checks the readers see the same thing.
import type { KubernetesObject, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from "@kubernetes/client-node";

/** kubectl's copy of the whole object as last applied: often the largest annotation, never read. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export function dropLastApplied(o: KubernetesObject): void {
  const a = o.metadata?.annotations;
  if (a && LAST_APPLIED in a) delete a[LAST_APPLIED];
}

/**
 * Objects the controllers only test for existence and map to their owner (PVCs:
 * sandbox/reconciler.ts ensurePodInputs, enqueueControllerOwner): metadata is all they need.
 */
export function pruneToMetadata(o: KubernetesObject): void {
  dropLastApplied(o);
  for (const k of Object.keys(o))
    if (k !== "apiVersion" && k !== "kind" && k !== "metadata") delete (o as unknown as Record<string, unknown>)[k];
}

/** Services: reconcileService compares metadata and spec with the desired Service; status is never read. */
export function pruneService(o: KubernetesObject & { status?: unknown }): void {
  dropLastApplied(o);
  delete o.status;
}

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

/** Each waiting container's name and waiting reason; undefined when none waits. */
function waitingReasons(statuses: V1ContainerStatus[] | undefined): V1ContainerStatus[] | undefined {
  const waiting = (statuses ?? []).filter((c) => c.state?.waiting?.reason);
  return waiting.length
    ? waiting.map((c) => ({ name: c.name, state: { waiting: { reason: c.state?.waiting?.reason } } }) as V1ContainerStatus)
    : undefined;
}

/**
 * Pods. Spec: only nodeName (observePod), restartPolicy (endedByNode: whether a failed pod is
 * replaced) and each container's name and image (image drift, restoreContainerImages); pod specs are immutable otherwise, and upstream prunes its pod cache
 * the same way. Status: what observePod reads (phase, reason, message, podIP(s), the type,
 * status, reason and message of conditions, and the waiting reason of containers and init
 * containers, where the execution server sidecar reports); the rest
 * (container IDs, image IDs, restart counts, start times, probe times) is dropped.
 */
export function prunePod(pod: V1Pod): void {
  dropLastApplied(pod);
  if (pod.spec) {
    pod.spec = defined({
      nodeName: pod.spec.nodeName,
      restartPolicy: pod.spec.restartPolicy,
      containers: (pod.spec.containers ?? []).map((c) => defined({ name: c.name, image: c.image })),
    }) as V1Pod["spec"];
  }
  const s = pod.status;
  if (s) {
    pod.status = defined({
      phase: s.phase,
      reason: s.reason,
      message: s.message,
      podIP: s.podIP,
      podIPs: s.podIPs?.map((p) => ({ ip: p.ip })),
      conditions: s.conditions?.map(
        (c) => defined({ type: c.type, status: c.status, reason: c.reason, message: c.message }) as V1PodCondition,
      ),
      initContainerStatuses: waitingReasons(s.initContainerStatuses),
      containerStatuses: waitingReasons(s.containerStatuses),
    }) as V1PodStatus;
  }
}
