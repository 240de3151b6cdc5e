import type { KubernetesObject, V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import {
  AnnotationKeys,
  EventReason,
  LabelKeys,
  SandboxConditionType,
  SandboxGVK,
  SandboxOperatingMode,
  SandboxReason,
  ShutdownPolicy,
  type Sandbox as AnySandbox,
} from "../../api/index.js";
import {
  controllerRef,
  findCondition,
  ignoreNotFound,
  InvalidError,
  isAlreadyExists,
  isConflict,
  isTrue,
  type ReconcileContext,
  type ReconcileResult,
} from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { Index } from "../shared/caches.js";
import { boundedHold } from "../shared/claims-first-gate.js";
import { childLabels, sandboxPodSelector, sandboxSelector } from "../shared/child-labels.js";
import { containsDesired } from "../shared/drift.js";
import type { Named } from "../shared/named.js";
import { isNamed } from "../shared/named.js";
import { defaultSandboxIngress, desiredNetworkPolicy, networkPolicyAnnotation } from "../shared/network-policy.js";
import { deleteSandbox, sandboxRef } from "../shared/sandbox-ref.js";
import { idleSuspendPatch, idleVerdict, type IdleVerdict } from "./idle.js";
import { desiredPVCs } from "./desired-children.js";
import { desiredPod, desiredPodMetadata } from "./desired-pod.js";
import { desiredService } from "./desired-service.js";
import { endedByNode, previousPodEnd, replacementDelayMs } from "./pod-replacement.js";
import { observePod } from "./observed-pod.js";
import { Expectations } from "../shared/expectations.js";
import { computeSandboxStatus, type SandboxStatusOut } from "./status.js";

type Sandbox = Named<AnySandbox>;

/** Sandbox labels that, when removed from the Sandbox, must also be removed from its pod. */
const removableInheritedLabels = [LabelKeys.WarmPoolSandbox, LabelKeys.ClaimUID, LabelKeys.LaunchType];

/** How soon a pass that put the relabelling off looks again. */
const relabelRecheckMs = 1_000;

export function makeSandboxReconciler(deps: ControllerDeps) {
  const { kube, caches, config } = deps;
  /**
   * Pods created but not yet in the cache, keyed by Sandbox key and named by Sandbox uid (a
   * Sandbox recreated under the same name is another uid). The pod's watch event usually comes
   * after that of the NetworkPolicy written just before it, so a pass they woke saw
   * "no pod" and created it again: a 409 and a GET for nothing (75 of 100 refill members in the
   * sequential-claim bench).
   */
  const podCreates = new Expectations(30_000);
  /** Sandbox key -> when its pod's relabelling was first put off for waiting claims. */
  const relabelHeldSince = new Map<string, number>();

  /** Suspends a Sandbox no call has reached for its idle timeout; on a conflict the next pass looks again. */
  async function suspendIdle(
    sandbox: Sandbox,
    idle: Extract<IdleVerdict, { kind: "suspend" }>,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult> {
    try {
      await kube.patch(sandboxRef(sandbox), idleSuspendPatch(sandbox, deps.now()), { type: "merge", signal: ctx.signal });
    } catch (err) {
      if (isConflict(err)) return { requeueAfter: 0 };
      throw err;
    }
    const idleSeconds = Math.round((deps.now().getTime() - idle.idleSinceMs) / 1000);
    ctx.log.info({ idleSeconds, timeoutMs: idle.timeoutMs }, "Suspending idle Sandbox");
    deps.events.event(sandbox, {
      type: "Normal",
      reason: "IdleSuspended",
      action: "Suspend",
      note: `No call for ${idleSeconds}s (idle timeout ${idle.timeoutMs / 1000}s): suspended; the next call through the router resumes it`,
    });
    return undefined;
  }

  return async function reconcileSandbox(_key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = caches.sandboxes.get(ctx.namespace, ctx.name);
    if (!cached) {
      podCreates.forget(ctx.key);
      relabelHeldSince.delete(ctx.key);
    }
    if (!cached || !isNamed(cached) || cached.metadata.deletionTimestamp) return;
    const sandbox: Sandbox = cached;
    const { signal } = ctx;
    const now = deps.now();
    const owner = controllerRef(sandbox);
    const pods = caches.pods.byIndex(Index.ByControllerUID, sandbox.metadata.uid);
    const shutdownAt = sandbox.spec.shutdownTime ? Date.parse(sandbox.spec.shutdownTime) : undefined;
    const expired = shutdownAt !== undefined && now.getTime() >= shutdownAt;
    const suspended = sandbox.spec.operatingMode === SandboxOperatingMode.Suspended;
    let reconcileError: { reason: string; message: string } | undefined;
    let retryAfterMs: number | undefined;

    // Running again, however it was resumed: no longer an idle suspension a call may undo.
    if (!suspended && sandbox.metadata.annotations?.[AnnotationKeys.IdleSuspendedAt] !== undefined) {
      await kube.patch(
        sandboxRef(sandbox),
        { metadata: { annotations: { [AnnotationKeys.IdleSuspendedAt]: null } } },
        { type: "merge", signal },
      );
    }
    const idle = idleVerdict(sandbox, now.getTime());
    if (idle.kind === "suspend") return suspendIdle(sandbox, idle, ctx);
    if (idle.kind === "invalid") {
      deps.events.event(sandbox, { type: "Warning", reason: "InvalidIdleTimeout", action: "Reconcile", note: idle.message });
    }

    if (expired || suspended) {
      await Promise.all(pods.map((p) => deleteOwned(p, "Pod")));
    }
    if (expired) {
      const service = caches.services.get(sandbox.metadata.namespace, sandbox.metadata.name);
      if (service && service.metadata?.ownerReferences?.some((r) => r.uid === sandbox.metadata.uid)) {
        await deleteOwned(service, "Service");
      }
      if ((sandbox.spec.shutdownPolicy ?? ShutdownPolicy.Retain) === ShutdownPolicy.Delete) {
        ctx.log.info("Deleting expired Sandbox (shutdownPolicy Delete)");
        await deleteSandbox(kube, sandbox, signal);
        return;
      }
    }

    // A pod the node ended (an eviction, say) is replaced; the new one says how the old one ended.
    const endedPod = pods.length === 1 && pods[0] && endedByNode(pods[0]) ? pods[0] : undefined;
    const pod = desiredPod(sandbox, owner, config, pods.length === 0 || endedPod ? previousPodEnd(sandbox, endedPod) : undefined);
    let createdPod = false;
    if (!expired && !suspended) {
      // The policy goes in before the pod is created, so the pod never starts unconfined. The
      // policy and PVCs do not depend on each other, so they are written together: a new
      // sandbox costs two round trips before its pod exists instead of three.
      await Promise.all([reconcileNetworkPolicy(sandbox, owner, ctx), ensurePodInputs(sandbox, owner, ctx)]);
      const outcome = await ensurePod(sandbox, pod, pods, ctx);
      reconcileError = outcome.error;
      createdPod = outcome.created;
      retryAfterMs = outcome.retryAfterMs;
      if (reconcileError) {
        deps.events.event(sandbox, {
          type: "Warning",
          reason: reconcileError.reason,
          action: "Reconcile",
          note: reconcileError.message,
        });
      }
    }

    if (!expired && suspended) await reconcileNetworkPolicy(sandbox, owner, ctx);
    const service = await reconcileService(sandbox, owner, pod, expired, ctx);
    const serviceName = service.name;
    if (service.error && !reconcileError) {
      reconcileError = service.error;
      deps.events.event(sandbox, {
        type: "Warning",
        reason: service.error.reason,
        action: "Reconcile",
        note: service.error.message,
      });
    }

    const foreignPod = !expired && suspended && pods.length === 0 && (await foreignPodHoldsName(sandbox, ctx));
    const { status, changed } = computeSandboxStatus(
      sandbox.status,
      {
        generation: sandbox.metadata.generation ?? 0,
        suspended,
        expired,
        // A pod being deleted still counts: a suspension is not done until the pod is gone.
        pods: pods.map(observePod),
        foreignPod,
        serviceRequested: sandbox.spec.service,
        service: serviceName
          ? { name: serviceName, fqdn: `${serviceName}.${sandbox.metadata.namespace}.svc.${config.clusterDomain}` }
          : undefined,
        selector: sandboxSelector(sandbox.metadata.name),
        reconcileError: reconcileError?.message,
      },
      now,
    );
    // The pod created in this pass is seen by the pod watch within milliseconds, and that pass
    // writes the status with what the pod is doing. Writing "no pod yet" first would cost every
    // new sandbox one more status write. A sandbox that was Ready (its pod vanished) is told at
    // once, so no reader trusts a pod that is gone.
    const skipForNewPod = createdPod && !reconcileError && !isTrue(sandbox.status?.conditions, SandboxConditionType.Ready);
    if (!skipForNewPod && (changed || !sameStatusFields(sandbox, status))) {
      await kube.applyStatus(
        {
          apiVersion: SandboxGVK.apiVersion,
          kind: SandboxGVK.kind,
          metadata: { name: sandbox.metadata.name, namespace: sandbox.metadata.namespace },
          status,
        },
        { signal },
      );
      observeReadyLatency(sandbox, status, now);
    }
    const untilShutdown = shutdownAt !== undefined && !expired ? Math.max(shutdownAt - now.getTime(), 0) + 1 : undefined;
    // Judged again on the status just computed: the pass that records Ready starts the idle
    // count, and the status write's own event does not bring another pass.
    const idleNext = idleVerdict({ ...sandbox, status }, now.getTime());
    const untilIdle = idleNext.kind === "recheck" ? idleNext.atMs - now.getTime() + 1 : idleNext.kind === "suspend" ? 1 : undefined;
    const requeueAfter = Math.min(untilShutdown ?? Infinity, retryAfterMs ?? Infinity, untilIdle ?? Infinity);
    return Number.isFinite(requeueAfter) ? { requeueAfter } : undefined;
  };

  /**
   * Whether a pod this sandbox does not control holds its name, which a suspension reports
   * (Suspended reason PodNotOwned) instead of claiming the pod is gone. Such a pod lacks our
   * labels, so only the API server can tell; the GET is made only while the suspension is not
   * yet confirmed at this generation, so a suspended sandbox does not pay it on every pass.
   */
  async function foreignPodHoldsName(sandbox: Sandbox, ctx: ReconcileContext): Promise<boolean> {
    const suspended = findCondition(sandbox.status?.conditions, SandboxConditionType.Suspended);
    const confirmed =
      suspended?.status === "True" &&
      suspended.reason === SandboxReason.PodTerminated &&
      suspended.observedGeneration === (sandbox.metadata.generation ?? 0);
    if (confirmed) return false;
    const { namespace, name, uid } = sandbox.metadata;
    const live = await kube.getOrUndefined<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name }, { signal: ctx.signal });
    return live !== undefined && !live.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller === true);
  }

  async function deleteOwned(obj: KubernetesObject, kind: string): Promise<void> {
    if (obj.metadata?.deletionTimestamp) return;
    await ignoreNotFound(
      kube.delete(
        { apiVersion: "v1", kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? "" },
        { preconditions: { uid: obj.metadata?.uid } },
      ),
    );
  }

  /** What the pod mounts: the PVCs. (The execution server needs no Secret: it checks router-signed tokens.) */
  async function ensurePodInputs(sandbox: Sandbox, owner: V1OwnerReference, ctx: ReconcileContext): Promise<void> {
    const { namespace } = sandbox.metadata;
    const writes: Promise<boolean>[] = [];
    for (const pvc of desiredPVCs(sandbox, owner)) {
      if (!caches.pvcs.get(namespace, pvc.metadata?.name ?? "")) writes.push(createIfAbsent(pvc, ctx));
    }
    await Promise.all(writes);
  }

  /** Creates the pod or keeps its metadata in line. Returns a condition-worthy error when it cannot. */
  async function ensurePod(
    sandbox: Sandbox,
    pod: V1Pod,
    pods: V1Pod[],
    ctx: ReconcileContext,
  ): Promise<{ error?: { reason: string; message: string }; created: boolean; retryAfterMs?: number }> {
    const { namespace, uid } = sandbox.metadata;
    const podOnItsWay = podCreates.pending(ctx.key, new Set(pods.length > 0 ? [uid] : []), deps.now().getTime()).creating.includes(uid);
    if (pods.length === 0) {
      // Created a moment ago and still on its way to the cache: the next pod event brings us back.
      if (podOnItsWay) return { created: true };
      const squatter = caches.pods.get(namespace, pod.metadata?.name ?? "");
      const notOurs = {
        reason: SandboxReason.ReconcilerError,
        message: `Pod ${pod.metadata?.name} already exists and is not controlled by this Sandbox`,
      };
      if (squatter && !squatter.metadata?.ownerReferences?.some((r) => r.uid === sandbox.metadata.uid))
        return { error: notOurs, created: false };
      let existed: boolean;
      try {
        existed = await createIfAbsent(pod, ctx);
      } catch (err) {
        // A pod the API server refuses (a port out of range, a label key it cannot carry) is
        // refused on every retry: the Sandbox says why instead of retrying in silence.
        if (!(err instanceof InvalidError)) throw err;
        return {
          error: { reason: SandboxReason.ReconcilerError, message: `the API server refused the Pod: ${err.fieldMessage() || err.message}` },
          created: false,
        };
      }
      if (existed) {
        // Not in our cache (it lacks our labels) yet the name is taken: look before claiming success.
        const live = await kube.getOrUndefined<V1Pod>(
          { apiVersion: "v1", kind: "Pod", namespace, name: pod.metadata?.name ?? "" },
          { signal: ctx.signal },
        );
        if (live && !live.metadata?.ownerReferences?.some((r) => r.uid === sandbox.metadata.uid)) return { error: notOurs, created: false };
      }
      if (!existed) podCreates.expectCreate(ctx.key, uid, deps.now().getTime());
      return { created: !existed };
    }
    if (pods.length === 1 && pods[0] && endedByNode(pods[0])) return replaceEndedPod(sandbox, pods[0], pod, ctx);
    if (pods.length === 1 && pods[0]) {
      const held = await patchPodMetadata(sandbox, pods[0], ctx);
      await restoreContainerImages(sandbox, pods[0], ctx);
      if (held) return { created: false, retryAfterMs: relabelRecheckMs };
    }
    return { created: false };
  }

  /**
   * Deletes a pod the node ended and creates its replacement in the same pass. The ended pod's
   * containers are all stopped, so it is deleted without a grace period (its name is free at
   * once), and only if it is still that pod (UID precondition).
   */
  async function replaceEndedPod(
    sandbox: Sandbox,
    ended: V1Pod,
    replacement: V1Pod,
    ctx: ReconcileContext,
  ): Promise<{ error?: { reason: string; message: string }; created: boolean; retryAfterMs?: number }> {
    const wait = replacementDelayMs(ended, deps.now().getTime());
    if (wait > 0) return { created: false, retryAfterMs: wait };
    const how = previousPodEnd(sandbox, ended) ?? "";
    ctx.log.info({ pod: ended.metadata?.name, uid: ended.metadata?.uid, ended: how }, "Replacing a pod the node ended");
    deps.events.event(sandbox, {
      type: "Warning",
      reason: EventReason.PodReplaced,
      action: "ReplacePod",
      note: `Pod ${ended.metadata?.name} ended (${how}); a new pod replaces it`.slice(0, 1024),
    });
    await ignoreNotFound(
      kube.delete(
        { apiVersion: "v1", kind: "Pod", namespace: sandbox.metadata.namespace, name: ended.metadata?.name ?? "" },
        { preconditions: { uid: ended.metadata?.uid }, gracePeriodSeconds: 0, signal: ctx.signal },
      ),
    );
    // The name may still be held for a moment: the pass after the delete event creates the pod,
    // and reads how the old one ended from the Finished condition this pass writes.
    if (await createIfAbsent(replacement, ctx)) return { created: false, retryAfterMs: relabelRecheckMs };
    podCreates.expectCreate(ctx.key, sandbox.metadata.uid, deps.now().getTime());
    return { created: true };
  }

  /**
   * A container's image is the one field of a running pod's spec anyone with patch rights can
   * change, and changing it swaps the code that runs. The images the Sandbox names are put
   * back; the injected sidecar is left alone (its image follows the operator's configuration,
   * and rolling every running sandbox's sidecar on an operator upgrade would drop sessions).
   */
  async function restoreContainerImages(sandbox: Sandbox, live: V1Pod, ctx: ReconcileContext): Promise<void> {
    const drifted = sandbox.spec.podTemplate.spec.containers.filter(
      (want) => want.image !== undefined && live.spec?.containers.some((c) => c.name === want.name && c.image !== want.image),
    );
    if (drifted.length === 0) return;
    ctx.log.info({ pod: live.metadata?.name, containers: drifted.map((c) => c.name) }, "Restoring container images changed on the pod");
    await ignoreNotFound(
      kube.patch(
        { apiVersion: "v1", kind: "Pod", namespace: sandbox.metadata.namespace, name: live.metadata?.name ?? "" },
        { spec: { containers: drifted.map((c) => ({ name: c.name, image: c.image })) } },
        { type: "strategic", signal: ctx.signal },
      ),
    );
  }

  /** Returns true when the name was already taken. */
  async function createIfAbsent(obj: KubernetesObject, ctx: ReconcileContext): Promise<boolean> {
    try {
      await kube.create(obj, { signal: ctx.signal });
      ctx.log.debug({ kind: obj.kind, name: obj.metadata?.name }, "Created child");
      return false;
    } catch (err) {
      // The cache lags our own writes; an object we created a moment ago is not an error.
      if (!isAlreadyExists(err)) throw err;
      return true;
    }
  }

  /**
   * Pod specs are immutable, so only labels and annotations are kept in line (as upstream does).
   * Returns true when the patch was put off because claims are waiting: relabelling the pod of
   * a sandbox a claim just adopted is one of the writes a burst of claims does not wait for.
   * The labels this operator selects the pod by (its NetworkPolicy's among them) are never put
   * off, and nothing is put off longer than maxClaimsFirstHoldMs.
   */
  async function patchPodMetadata(sandbox: Sandbox, live: V1Pod, ctx: ReconcileContext): Promise<boolean> {
    const want = desiredPodMetadata(sandbox);
    const labels: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(want.labels)) if (live.metadata?.labels?.[k] !== v) labels[k] = v;
    for (const k of removableInheritedLabels) {
      if (live.metadata?.labels?.[k] !== undefined && want.labels[k] === undefined) labels[k] = null;
    }
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(want.annotations)) if (live.metadata?.annotations?.[k] !== v) annotations[k] = v;
    const key = `${sandbox.metadata.namespace}/${sandbox.metadata.name}`;
    if (Object.keys(labels).length === 0 && Object.keys(annotations).length === 0) {
      relabelHeldSince.delete(key);
      return false;
    }
    const protective = Object.keys(childLabels(sandbox.metadata.name));
    const wantsToHold = deps.claimsFirst.busy() && !Object.keys(labels).some((k) => protective.includes(k));
    const hold = boundedHold(wantsToHold, relabelHeldSince.get(key), deps.now().getTime());
    if (hold.hold) {
      relabelHeldSince.set(key, hold.sinceMs);
      return true;
    }
    relabelHeldSince.delete(key);
    const patch = { metadata: { labels, annotations } };
    await ignoreNotFound(
      kube.patch({ apiVersion: "v1", kind: "Pod", namespace: sandbox.metadata.namespace, name: live.metadata?.name ?? "" }, patch, {
        type: "merge",
        signal: ctx.signal,
      }),
    );
    return false;
  }

  /**
   * Returns the name of the Service the sandbox has after this pass, if any, or why the API
   * server refused it (a sandbox name too long for a Service, for one): that is refused on
   * every retry, so the Sandbox says why instead of retrying in silence.
   */
  async function reconcileService(
    sandbox: Sandbox,
    owner: V1OwnerReference,
    pod: V1Pod,
    expired: boolean,
    ctx: ReconcileContext,
  ): Promise<{ name?: string; error?: { reason: string; message: string } }> {
    const { name, namespace, uid } = sandbox.metadata;
    const live = caches.services.get(namespace, name);
    const ours = live?.metadata?.ownerReferences?.some((r) => r.uid === uid) ?? false;
    if (expired) return {};
    if (sandbox.spec.service === false) {
      if (live && ours) await deleteOwned(live, "Service");
      return {};
    }
    if (sandbox.spec.service !== true) return live ? { name } : {};
    const want = desiredService({
      name,
      namespace,
      owner,
      labels: childLabels(name),
      selector: sandboxPodSelector(name),
      podSpec: pod.spec ?? { containers: [] },
    });
    // Server-side apply leaves list entries another manager owns, so a port someone added
    // would stay (and every pass would re-apply): those are dropped by replacing the list.
    const foreign = (live?.spec?.ports ?? []).filter(
      (p) => !(want.spec?.ports ?? []).some((w) => w.port === p.port && (w.protocol ?? "TCP") === (p.protocol ?? "TCP")),
    );
    if (!live || !containsDesired(live, want, ["spec.selector"]) || foreign.length > 0) {
      try {
        await kube.apply(want, { signal: ctx.signal });
      } catch (err) {
        if (!(err instanceof InvalidError)) throw err;
        return {
          error: {
            reason: SandboxReason.ReconcilerError,
            message: `the API server refused the Service: ${err.fieldMessage() || err.message}`,
          },
        };
      }
    }
    if (foreign.length > 0) {
      ctx.log.info({ service: name, ports: foreign.map((p) => p.port) }, "Removing service ports the sandbox does not declare");
      await kube.patch(
        { apiVersion: "v1", kind: "Service", namespace, name },
        { spec: { ports: want.spec?.ports ?? [] } },
        { type: "merge", signal: ctx.signal },
      );
    }
    return { name };
  }

  async function reconcileNetworkPolicy(sandbox: Sandbox, owner: V1OwnerReference, ctx: ReconcileContext): Promise<void> {
    if (sandbox.metadata.annotations?.[networkPolicyAnnotation] === "Unmanaged") return;
    const { name, namespace } = sandbox.metadata;
    const want = desiredNetworkPolicy({
      name,
      namespace,
      owner,
      labels: childLabels(name),
      podSelector: sandboxPodSelector(name),
      ingress: defaultSandboxIngress(config),
      egress: [],
    });
    const live = caches.networkPolicies.get(namespace, name);
    // The whole policy spec is compared exactly: an added peer or port would open the sandbox.
    if (!live || !containsDesired(live, want, ["spec"])) await kube.apply(want, { signal: ctx.signal });
  }

  function observeReadyLatency(sandbox: Sandbox, status: SandboxStatusOut, now: Date): void {
    const wasReady = isTrue(sandbox.status?.conditions, SandboxConditionType.Ready);
    if (wasReady || !isTrue(status.conditions, SandboxConditionType.Ready) || !sandbox.metadata.creationTimestamp) return;
    const created = Date.parse(String(sandbox.metadata.creationTimestamp));
    deps.metrics.sandboxReadySeconds.observe(
      {
        launch_type: sandbox.metadata.labels?.[LabelKeys.WarmPoolSandbox]
          ? "pool"
          : (sandbox.metadata.labels?.[LabelKeys.LaunchType] ?? "direct"),
      },
      (now.getTime() - created) / 1000,
    );
  }
}

function sameStatusFields(sandbox: Sandbox, next: SandboxStatusOut): boolean {
  const cur = sandbox.status ?? {};
  return (
    JSON.stringify(cur.podIPs ?? []) === JSON.stringify(next.podIPs ?? []) &&
    cur.nodeName === next.nodeName &&
    cur.serviceFQDN === next.serviceFQDN &&
    cur.service === next.service &&
    cur.selector === next.selector
  );
}
