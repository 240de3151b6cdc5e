import type { KubernetesObject } from "@kubernetes/client-node";
import {
  AnnotationKeys,
  ClaimShutdownPolicy,
  LabelKeys,
  LaunchType,
  SandboxClaimConditionType,
  SandboxConditionType,
  SandboxClaimGVK,
  SandboxClaimMessage,
  SandboxClaimReason,
  SandboxGVK,
  SandboxSchema,
  type Sandbox,
  type SandboxClaim,
} from "../../api/index.js";
import {
  controllerRef,
  findCondition,
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isControlledBy,
  isTrue,
  type EventInput,
  type ReconcileContext,
  type ReconcileResult,
} from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { Index } from "../shared/caches.js";
import { isNamed, type Named } from "../shared/named.js";
import { nameHash } from "../shared/name-hash.js";
import { sandboxFromTemplate } from "../shared/sandbox-from-template.js";
import { deleteSandbox, sandboxRef } from "../shared/sandbox-ref.js";
import { adoptableMemberCheck, updateStrategyOf } from "../shared/adoptable-member.js";
import { staleMemberCheck, type MemberBlueprint } from "../shared/stale-member.js";
import { blueprintForClaim, forcesColdStart } from "./blueprint-overrides.js";
import { resolveClaimEnv, type ResolvedEnv, type SecretData } from "./claim-env.js";
import { envDeliveryMode, podAcceptsEnvFrom, type EnvDeliveryMode } from "./env-delivery-mode.js";
import type { EnvDelivery, PreparedDelivery } from "./env-delivery.js";
import { claimAnnotationsToSet, isAdoptedSandbox, type ClaimAnnotationIntent } from "./claim-annotations.js";
import { claimExpiresAt } from "./expiry.js";
import { FirstObserved } from "./first-observed.js";
import { computeClaimStatus, type ClaimedSandbox, type ClaimObservation, type PreviousClaimStatus } from "./status.js";
import { templateVolumeClaimTemplatesRefusal } from "./volume-claim-templates.js";
import { warmCandidates } from "./warm-candidates.js";

type Claim = Named<SandboxClaim>;
type NamedSandbox = Named<Sandbox>;

/** How many Ready pool members a claim tries before it gives up on warm adoption for this pass. */
const maxAdoptionAttempts = 3;
/** How soon a claim whose Secret is missing looks again (Secrets are not watched). */
const missingSecretRetryMs = 10_000;
/** How soon a claim whose env could not be handed to its sandbox tries again. */
const envDeliveryRetryMs = 5_000;

/** Why the claim is not Ready yet although its sandbox may be: its env is not in place. */
type EnvIssue = { reason: string; message: string; retryAfterMs: number };

/**
 * `firstObserved` must be fed by the claim informer's events (see FirstObserved); without, a
 * claim counts as first observed when a pass first gets to it.
 */
export function makeClaimReconciler(deps: ControllerDeps, firstObserved = new FirstObserved()) {
  const { kube, caches } = deps;
  /**
   * Pool members a pass is adopting right now ("ns/name"), so that two claims reconciled at the
   * same time do not race for one member. Once the adoption patch is answered the caches show the
   * member re-parented (read-your-writes), so the reservation ends with the patch.
   */
  const reserved = new Set<string>();
  /**
   * Claims ("ns/name") whose env this process handed to their sandbox's execution server, with
   * what it went to (claim UID and generation, Sandbox UID, pod). Kept in memory: after a restart
   * or a change of leader the env is delivered once more, which the server takes as a no-op.
   */
  const delivered = new Map<string, string>();

  return async function reconcileClaim(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = caches.claims.get(ctx.namespace, ctx.name);
    if (!cached || !isNamed(cached) || cached.metadata.deletionTimestamp) {
      delivered.delete(key);
      return;
    }
    const claim: Claim = cached;
    const env = envResolver(claim, ctx);
    const firstObservedAt = firstObserved.stampFor(claim);
    const now = deps.now();
    const nowMs = now.getTime();
    let sandbox = findBoundSandbox(claim);
    const adoptedName = (s: NamedSandbox | undefined): string | undefined =>
      s && isAdoptedSandbox(claim.metadata.name, s) ? s.metadata.name : undefined;

    const expiresAt = claimExpiresAt(claim);
    if (expiresAt !== undefined && expiresAt <= nowMs) {
      const claimDeleted = await expire(claim, sandbox, ctx);
      if (claimDeleted) return;
      // The Sandbox just asked to go is still reported until it is gone (its deletion wakes us).
      await writeClaim(claim, { firstObservedAt, adoptedSandbox: adoptedName(sandbox) }, { expired: true, sandbox }, now, ctx);
      return;
    }
    const requeue = expiresAt !== undefined ? { requeueAfter: expiresAt - nowMs + 1 } : undefined;
    // After a status write, the expiry is judged on the claim as written (the cache shows it at
    // once): a Finished condition copied in this pass starts ttlSecondsAfterFinished, and the
    // write's own event brings no pass.
    const requeueAsWritten = (): ReconcileResult => {
      const written = caches.claims.get(ctx.namespace, ctx.name);
      const at = written && isNamed(written) ? claimExpiresAt(written) : expiresAt;
      return at !== undefined ? { requeueAfter: Math.max(at - nowMs, 0) + 1 } : undefined;
    };

    if (!sandbox) {
      const bound = await bindSandbox(claim, firstObservedAt, env, ctx);
      // The claim's status goes out before the event that tells the same story: on a loaded
      // API server the event's write would otherwise delay the write the client is waiting on.
      const announce = (): void => {
        if ("event" in bound && bound.event) deps.events.event(claim, bound.event);
      };
      if ("refusal" in bound) {
        // Repeats are folded into one Event series by the recorder, so a retry loop cannot flood.
        deps.events.event(claim, {
          type: "Warning",
          reason: bound.refusal.reason,
          action: "Bind",
          note: bound.refusal.note,
        });
        await writeClaim(claim, { firstObservedAt }, { expired: false, sandbox: undefined, refusal: bound.refusal }, now, ctx);
        return bound.retryAfterMs !== undefined ? { requeueAfter: bound.retryAfterMs } : requeue;
      }
      sandbox = bound.sandbox;
      const envIssue = await deliverEnv(key, claim, sandbox, env, ctx, bound.prepared);
      await writeClaim(
        claim,
        { firstObservedAt, adoptedSandbox: bound.adopted ? bound.name : undefined },
        { expired: false, sandbox, refusal: envIssue },
        now,
        ctx,
      );
      announce();
      if (envIssue) announceEnvIssue(claim, envIssue);
      return sooner(requeueAsWritten(), envIssue?.retryAfterMs);
    }
    const envIssue = await deliverEnv(key, claim, sandbox, env, ctx);
    // Also repairs a claim whose annotation write was lost after its adoption (a crash, an error).
    await writeClaim(
      claim,
      { firstObservedAt, adoptedSandbox: adoptedName(sandbox) },
      { expired: false, sandbox, refusal: envIssue },
      now,
      ctx,
    );
    if (envIssue) announceEnvIssue(claim, envIssue);
    return sooner(requeueAsWritten(), envIssue?.retryAfterMs);
  };

  /** A Warning event for a claim whose env is not in place (repeats fold into one series). */
  function announceEnvIssue(claim: Claim, issue: EnvIssue): void {
    deps.events.event(claim, { type: "Warning", reason: issue.reason, action: "DeliverEnv", note: issue.message });
  }

  /** The pod of a Sandbox, as the cache shows it. */
  function podOf(sandbox: NamedSandbox) {
    const podName = sandbox.metadata.annotations?.[AnnotationKeys.PodName] ?? sandbox.metadata.name;
    return caches.pods.get(sandbox.metadata.namespace, podName);
  }

  /** What one pass knows of the claim's env: how it is delivered, and its values read at most once. */
  interface EnvResolver {
    mode: () => EnvDeliveryMode;
    resolve: () => Promise<ResolvedEnv>;
  }

  function envResolver(claim: Claim, ctx: ReconcileContext): EnvResolver {
    let resolved: Promise<ResolvedEnv> | undefined;
    const readSecret = (name: string): Promise<SecretData | undefined> =>
      kube.getOrUndefined<KubernetesObject & SecretData>(
        { apiVersion: "v1", kind: "Secret", namespace: claim.metadata.namespace, name },
        { signal: ctx.signal },
      );
    return {
      mode: () => {
        const pool = caches.pools.get(claim.metadata.namespace, claim.spec.warmPoolRef.name);
        const template = pool && caches.templates.get(claim.metadata.namespace, pool.spec.sandboxTemplateRef.name);
        return template ? envDeliveryMode(template, deps.config.execPort, deps.envDelivery !== undefined) : "pod";
      },
      resolve: () => {
        if (!resolved) {
          resolved = resolveClaimEnv(claim.spec.env ?? [], readSecret);
          // Started ahead of its use: a pass that ends before awaiting it must not leave it unhandled.
          resolved.catch(() => undefined);
        }
        return resolved;
      },
    };
  }

  /**
   * Hands the claim's env to the execution server of its sandbox once the sandbox is Ready, and
   * again whenever the claim's spec, the Sandbox or its pod changed. Until that has succeeded the
   * claim is not Ready (the issue returned says why), so no call can run without the variables.
   * Logs and messages name the variables and Secrets, never a value.
   */
  async function deliverEnv(
    key: string,
    claim: Claim,
    sandbox: NamedSandbox | undefined,
    env: EnvResolver,
    ctx: ReconcileContext,
    prepared?: PreparedDelivery,
  ): Promise<EnvIssue | undefined> {
    const issue = await deliverEnvWith(key, claim, sandbox, env, ctx, prepared);
    // A request opened for the adoption but not used (a missing Secret, say) is given up.
    prepared?.abort();
    return issue;
  }

  async function deliverEnvWith(
    key: string,
    claim: Claim,
    sandbox: NamedSandbox | undefined,
    env: EnvResolver,
    ctx: ReconcileContext,
    prepared: PreparedDelivery | undefined,
  ): Promise<EnvIssue | undefined> {
    if (!claim.spec.env?.length || !deps.envDelivery || !sandbox || env.mode() !== "execd") return undefined;
    const status = sandbox.status as ClaimedSandbox["status"];
    const podIP = status?.podIPs?.[0];
    const ready = findCondition(status?.conditions, SandboxConditionType.Ready);
    // Not Ready yet: the claim says so from the Sandbox's own condition, and its next change wakes us.
    if (ready?.status !== "True" || !podIP) return undefined;
    const podUID = podOf(sandbox)?.metadata?.uid ?? "";
    // The Ready transition too: an execution server restarted inside the same pod (the Sandbox
    // was not Ready for a moment) has lost what it was given and gets it again.
    const readySince = String(ready.lastTransitionTime);
    const target = `${claim.metadata.uid}/${claim.metadata.generation ?? 0}/${sandbox.metadata.uid}/${podUID}/${podIP}/${readySince}`;
    if (delivered.get(key) === target) return undefined;
    const resolved = await env.resolve();
    if (!resolved.ok) return { reason: resolved.reason, message: resolved.message, retryAfterMs: missingSecretRetryMs };
    const names = Object.keys(resolved.env).sort();
    try {
      const identity = { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name, uid: sandbox.metadata.uid };
      if (prepared) await prepared.send(resolved.env);
      else await deps.envDelivery.deliver({ sandbox: identity, podIP, port: deps.config.execPort }, resolved.env, ctx.signal);
    } catch (err) {
      ctx.log.info({ sandbox: sandbox.metadata.name, names, err: (err as Error).message }, "Could not deliver claim env; retrying");
      return {
        reason: SandboxClaimReason.EnvNotDelivered,
        message: `the environment could not be handed to Sandbox ${sandbox.metadata.name} yet: ${(err as Error).message}`,
        retryAfterMs: envDeliveryRetryMs,
      };
    }
    delivered.set(key, target);
    ctx.log.info({ sandbox: sandbox.metadata.name, names }, "Delivered claim env to the execution server");
    return undefined;
  }

  /**
   * The sandbox this claim already has, if any: named by its status or annotation, or owned by it.
   * A sandbox this process adopted or created is in the cache from the moment its write was
   * answered (read-your-writes), before the watch brings it.
   */
  function findBoundSandbox(claim: Claim): NamedSandbox | undefined {
    const ns = claim.metadata.namespace;
    for (const name of [claim.status?.sandbox?.name, claim.metadata.annotations?.[AnnotationKeys.SandboxName]]) {
      if (!name) continue;
      const s = caches.sandboxes.get(ns, name);
      if (s && isNamed(s) && isControlledBy(s, claim)) return s;
    }
    return caches.sandboxes.byIndex(Index.ByControllerUID, claim.metadata.uid).find(isNamed);
  }

  /** A refusal's condition message is upstream's; the Event's note may say more. */
  type Refusal = { reason: string; message: string; note: string };
  type BindResult =
    | { sandbox: NamedSandbox | undefined; name: string; adopted: boolean; event?: EventInput; prepared?: PreparedDelivery | undefined }
    | { refusal: Refusal; retryAfterMs?: number };

  async function bindSandbox(
    claim: Claim,
    firstObservedAt: string | undefined,
    env: EnvResolver,
    ctx: ReconcileContext,
  ): Promise<BindResult> {
    const ns = claim.metadata.namespace;

    const pool = caches.pools.get(ns, claim.spec.warmPoolRef.name);
    if (!pool || !isNamed(pool)) {
      const message = `SandboxWarmPool "${claim.spec.warmPoolRef.name}" not found`;
      return {
        refusal: { reason: SandboxClaimReason.WarmPoolNotFound, message, note: `${message} in namespace ${ns}` },
        retryAfterMs: 60_000,
      };
    }
    const template = caches.templates.get(ns, pool.spec.sandboxTemplateRef.name);
    if (!template || !isNamed(template)) {
      const message = `SandboxTemplate "${pool.spec.sandboxTemplateRef.name}" not found`;
      return {
        refusal: { reason: SandboxClaimReason.TemplateNotFound, message, note: `${message} in namespace ${ns}` },
        retryAfterMs: 60_000,
      };
    }
    const envMode = envDeliveryMode(template, deps.config.execPort, deps.envDelivery !== undefined);
    const blueprint = blueprintForClaim(claim, template, envMode);
    if (!blueprint.ok) return { refusal: { reason: blueprint.reason, message: blueprint.message, note: blueprint.message } };
    if (claim.spec.env?.some((e) => e.valueFrom)) {
      if (envMode === "execd") {
        // Read while the member is adopted, not before: the claim's Ready waits one API round
        // trip less. A claim whose Secret is missing then holds its sandbox, not Ready, until
        // the Secret exists (deliverEnv says why).
        void env.resolve();
      } else {
        // A pod is not started that the kubelet could not give its env.
        const resolved = await env.resolve();
        if (!resolved.ok) {
          const message = resolved.message;
          return { refusal: { reason: resolved.reason, message, note: message }, retryAfterMs: missingSecretRetryMs };
        }
      }
    }

    if (!forcesColdStart(claim, envMode)) {
      const adoptable = adoptableMemberCheck(updateStrategyOf(pool), staleMemberCheck(template));
      // A claim whose env goes to the execution server needs a member whose server takes it.
      const serves =
        envMode === "execd" && claim.spec.env?.length
          ? (member: NamedSandbox) => podAcceptsEnvFrom(podOf(member), deps.config.execdEnvTrustedKeys)
          : undefined;
      // Its request to the member's server is opened while the member is adopted (token and
      // headers only; the values go out once the adoption is won).
      const prepare = serves && deps.envDelivery ? deps.envDelivery : undefined;
      const won = await adoptReadyMember(claim, pool, adoptable, serves, prepare, firstObservedAt, ctx);
      const adopted = won?.member;
      // The member was Ready with pod IPs when adopted, so the claim can report it at once
      // instead of waiting for the watch to bring the re-parented Sandbox back.
      if (adopted) {
        return {
          sandbox: adopted,
          name: adopted.metadata.name,
          adopted: true,
          prepared: won.prepared,
          event: {
            type: "Normal",
            reason: "SandboxAdopted",
            action: "Adopt",
            note: `Adopted warm Sandbox ${adopted.metadata.name} from SandboxWarmPool ${claim.spec.warmPoolRef.name}`,
          },
        };
      }
    }

    // The template's own list is checked only now: a claim that brings none may be adopted warm.
    if (!claim.spec.volumeClaimTemplates?.length) {
      const refusal = templateVolumeClaimTemplatesRefusal(template.spec.volumeClaimTemplates ?? []);
      if (refusal) return { refusal: { ...refusal, note: refusal.message } };
    }
    const cold = sandboxFromTemplate({
      name: claim.metadata.name,
      namespace: ns,
      template,
      owner: controllerRef(claim),
      labels: { [LabelKeys.ClaimUID]: claim.metadata.uid, [LabelKeys.LaunchType]: LaunchType.Cold },
      blueprint: blueprint.blueprint,
      idleTimeout: claim.metadata.annotations?.[AnnotationKeys.IdleTimeout],
    });
    // The created (or found) object is reported at once, as upstream does: the claim names its
    // Sandbox from the first pass, before the watch brings the Sandbox into the cache.
    let created: Sandbox | undefined;
    try {
      // Parsed, so the answer is the API type with its defaults (what the cache holds), not the input.
      created = SandboxSchema.parse(await kube.create(cold, { signal: ctx.signal }));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await kube.getOrUndefined<Sandbox & KubernetesObject>(
        { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: ns, name: claim.metadata.name },
        { signal: ctx.signal },
      );
      if (!existing || !isControlledBy(existing, claim)) {
        const note = `sandbox "${claim.metadata.name}" is not controlled by claim "${claim.metadata.name}". Please use a different claim name or delete the sandbox manually`;
        return {
          refusal: { reason: SandboxClaimReason.ReconcilerError, message: SandboxClaimMessage.ErrorPrefix + note, note },
          retryAfterMs: 30_000,
        };
      }
      created = existing;
    }
    deps.metrics.claimsCreated.inc({ launch_type: LaunchType.Cold });
    ctx.log.info({ sandbox: claim.metadata.name }, "Created Sandbox for claim (cold start)");
    return {
      sandbox: created && isNamed(created) ? created : undefined,
      name: claim.metadata.name,
      adopted: false,
      event: {
        type: "Normal",
        reason: "SandboxProvisioned",
        action: "Create",
        note: `Created Sandbox ${claim.metadata.name} from SandboxTemplate ${template.metadata.name} (cold start)`,
      },
    };
  }

  /**
   * Re-parents one Ready pool member the template rule accepts (`adoptable`,
   * see adoptableMemberCheck) to the claim. Everything is judged on cached
   * objects; the patch carries the member's resourceVersion, so if two writers
   * race for it the API server lets exactly one win (409 for the other, which
   * tries the next member).
   *
   * The claim's annotations (its first-observed time and the member's name) go out
   * alongside the adoption patch rather than after it: both are in place before the
   * status write that reports the claim Ready, one API round trip sooner. Should the
   * adoption fail, the next member's name replaces it, and a claim that ends up cold
   * has the name taken off again (a cold Sandbox bears the claim's own name).
   */
  async function adoptReadyMember(
    claim: Claim,
    pool: Named<{ metadata: object }>,
    adoptable: (member: MemberBlueprint) => boolean,
    serves: ((member: NamedSandbox) => boolean) | undefined,
    envDelivery: EnvDelivery | undefined,
    firstObservedAt: string | undefined,
    ctx: ReconcileContext,
  ): Promise<{ member: NamedSandbox; prepared?: PreparedDelivery | undefined } | undefined> {
    const candidates = warmCandidates(caches.sandboxes.byIndex(Index.ByWarmPool, nameHash(pool.metadata.name)), {
      namespace: claim.metadata.namespace,
      poolUID: pool.metadata.uid,
      adoptable,
      taken: (s) => reserved.has(`${s.metadata.namespace}/${s.metadata.name}`),
      serves,
    });

    let named: string | undefined;
    for (const candidate of candidates.slice(0, maxAdoptionAttempts)) {
      const reservation = `${candidate.metadata.namespace}/${candidate.metadata.name}`;
      reserved.add(reservation);
      const podIP = candidate.status?.podIPs?.[0];
      const prepared =
        envDelivery && podIP
          ? envDelivery.prepare(
              {
                sandbox: { namespace: candidate.metadata.namespace, name: candidate.metadata.name, uid: candidate.metadata.uid },
                podIP,
                port: deps.config.execPort,
              },
              ctx.signal,
            )
          : undefined;
      let won = false;
      try {
        const annotations = claimAnnotationsToSet(claim.metadata.annotations, { firstObservedAt, adoptedSandbox: candidate.metadata.name });
        const [adoption, annotation] = await Promise.allSettled([
          kube.patch(sandboxRef(candidate), adoptionPatch(candidate, claim, deps.now()), { type: "merge", signal: ctx.signal }),
          annotations ? patchAnnotations(claim, annotations, ctx) : Promise.resolve(undefined),
        ]);
        if (annotations && annotation.status === "fulfilled") named = candidate.metadata.name;
        if (adoption.status === "rejected") {
          prepared?.abort();
          if (!isConflict(adoption.reason)) throw adoption.reason;
          ctx.log.debug({ sandbox: candidate.metadata.name }, "Lost the race for a warm Sandbox; trying the next one");
          continue;
        }
        deps.metrics.claimsCreated.inc({ launch_type: LaunchType.Warm });
        ctx.log.info({ sandbox: candidate.metadata.name }, "Adopted warm Sandbox for claim");
        // The adoption stands; an annotation write that failed is retried by the next pass.
        if (annotation.status === "rejected") throw annotation.reason;
        won = true;
        return { member: candidate, prepared };
      } finally {
        reserved.delete(reservation);
        if (!won) prepared?.abort();
      }
    }
    if (named) {
      // No member was won: the claim must not keep naming one it does not have.
      await kube.patch(
        claimRefOf(claim),
        { metadata: { annotations: { [AnnotationKeys.SandboxName]: null } } },
        { type: "merge", signal: ctx.signal },
      );
    }
    return undefined;
  }

  /** Returns true when the claim itself was deleted (so there is no status left to write). */
  async function expire(claim: Claim, sandbox: NamedSandbox | undefined, ctx: ReconcileContext): Promise<boolean> {
    const policy = claim.spec.lifecycle?.shutdownPolicy ?? ClaimShutdownPolicy.Retain;
    const claimRef = claimRefOf(claim);
    deps.events.event(claim, {
      type: "Normal",
      reason: "ClaimExpired",
      action: "Expire",
      note: `Claim expired; shutdownPolicy ${policy}`,
    });
    if (policy === ClaimShutdownPolicy.Retain) {
      if (sandbox) await deleteSandbox(kube, sandbox, ctx.signal);
      return false;
    }
    await ignoreNotFound(
      kube.delete(claimRef, {
        preconditions: { uid: claim.metadata.uid },
        propagationPolicy: policy === ClaimShutdownPolicy.DeleteForeground ? "Foreground" : "Background",
        signal: ctx.signal,
      }),
    );
    return true;
  }

  /**
   * Writes what this pass wants of the claim: its annotations (a merge patch of only the keys
   * it sets, no resourceVersion precondition, as upstream patches them), then its status (server-
   * side apply on /status; `observed` undefined leaves the status alone). In that order: whoever
   * sees a status (Ready, or a refusal) finds the annotations of the same pass already there, as
   * upstream's clients and tests expect. The warm path has sent its annotations with the
   * adoption, so its status goes out at once. Both are judged against the claim as the cache shows
   * it now, which includes this pass's earlier writes (read-your-writes).
   */
  async function writeClaim(
    passClaim: Claim,
    want: ClaimAnnotationIntent,
    observed: { expired: boolean; sandbox: NamedSandbox | undefined; refusal?: ClaimObservation["refusal"] } | undefined,
    now: Date,
    ctx: ReconcileContext,
  ): Promise<void> {
    const latest = caches.claims.get(passClaim.metadata.namespace, passClaim.metadata.name);
    const claim = latest && isNamed(latest) && latest.metadata.uid === passClaim.metadata.uid ? latest : passClaim;
    const annotations = claimAnnotationsToSet(claim.metadata.annotations, want);
    const status = observed && statusToWrite(claim, observed, now);
    if (annotations) await patchAnnotations(claim, annotations, ctx);
    if (!status) return;
    const body = {
      apiVersion: SandboxClaimGVK.apiVersion,
      kind: SandboxClaimGVK.kind,
      metadata: { name: claim.metadata.name, namespace: claim.metadata.namespace },
      status: status.status,
    };
    await kube.applyStatus<KubernetesObject>(body, { signal: ctx.signal });
    const ready = SandboxClaimConditionType.Ready;
    if (isTrue(status.status.conditions, ready) && !isTrue(status.previous?.conditions, ready) && claim.metadata.creationTimestamp) {
      const launchType = observed.sandbox?.metadata.labels?.[LabelKeys.LaunchType] ?? LaunchType.Cold;
      deps.metrics.claimReadySeconds.observe(
        { launch_type: launchType },
        (now.getTime() - Date.parse(String(claim.metadata.creationTimestamp))) / 1000,
      );
    }
  }

  /** Merge-patches annotations onto the claim. */
  async function patchAnnotations(claim: Claim, annotations: Record<string, string>, ctx: ReconcileContext): Promise<void> {
    await kube.patch<KubernetesObject>(claimRefOf(claim), { metadata: { annotations } }, { type: "merge", signal: ctx.signal });
  }

  /** The status to apply, if it differs from the cached one. */
  function statusToWrite(
    claim: Claim,
    observed: { expired: boolean; sandbox: NamedSandbox | undefined; refusal?: ClaimObservation["refusal"] },
    now: Date,
  ): { status: ReturnType<typeof computeClaimStatus>["status"]; previous: PreviousClaimStatus | undefined } | undefined {
    const previous = claim.status as PreviousClaimStatus | undefined;
    const { status, changed } = computeClaimStatus(
      previous,
      {
        ...observed,
        generation: claim.metadata.generation ?? 0,
        sandbox: observed.sandbox && { name: observed.sandbox.metadata.name, status: observed.sandbox.status as ClaimedSandbox["status"] },
      },
      now,
    );
    if (!changed) return undefined;
    return { status, previous };
  }
}

/** The earlier of two requeues (undefined: none). */
function sooner(result: ReconcileResult, afterMs: number | undefined): ReconcileResult {
  if (afterMs === undefined) return result;
  const current = result?.requeueAfter;
  return { requeueAfter: current === undefined ? afterMs : Math.min(current, afterMs) };
}

function claimRefOf(claim: Claim): { apiVersion: string; kind: string; namespace: string; name: string } {
  return {
    apiVersion: SandboxClaimGVK.apiVersion,
    kind: SandboxClaimGVK.kind,
    namespace: claim.metadata.namespace,
    name: claim.metadata.name,
  };
}

/** The merge patch that moves a pool member to a claim; resourceVersion makes it conditional. */
function adoptionPatch(member: NamedSandbox, claim: Claim, now: Date): unknown {
  const extra = claim.spec.additionalPodMetadata;
  const podMetadata = member.spec.podTemplate.metadata ?? {};
  return {
    metadata: {
      resourceVersion: member.metadata.resourceVersion,
      ownerReferences: [controllerRef(claim)],
      labels: {
        [LabelKeys.WarmPoolSandbox]: null,
        [LabelKeys.ClaimUID]: claim.metadata.uid,
        [LabelKeys.LaunchType]: LaunchType.Warm,
      },
      ...idleAnnotationsOnAdoption(member, claim, now),
    },
    ...(extra?.labels || extra?.annotations
      ? {
          spec: {
            podTemplate: {
              metadata: {
                labels: { ...podMetadata.labels, ...extra.labels },
                annotations: { ...podMetadata.annotations, ...extra.annotations },
              },
            },
          },
        }
      : {}),
  };
}

/**
 * The claim's idle timeout goes onto the member, and a member with one starts its idle time at
 * adoption: it may have waited in the pool for longer than the timeout.
 */
function idleAnnotationsOnAdoption(member: NamedSandbox, claim: Claim, now: Date): { annotations?: Record<string, string> } {
  const claimTimeout = claim.metadata.annotations?.[AnnotationKeys.IdleTimeout];
  if (claimTimeout === undefined && member.metadata.annotations?.[AnnotationKeys.IdleTimeout] === undefined) return {};
  return {
    annotations: {
      ...(claimTimeout !== undefined ? { [AnnotationKeys.IdleTimeout]: claimTimeout } : {}),
      [AnnotationKeys.LastActivity]: now.toISOString(),
    },
  };
}
