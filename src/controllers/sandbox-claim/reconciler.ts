import type { KubernetesObject } from "@kubernetes/client-node";
import {
  AnnotationKeys,
  ClaimShutdownPolicy,
  LabelKeys,
  LaunchType,
  SandboxClaimConditionType,
  SandboxClaimGVK,
  SandboxClaimMessage,
  SandboxClaimReason,
  SandboxGVK,
  type Sandbox,
  type SandboxClaim,
} from "../../api/index.js";
import {
  controllerRef,
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isTrue,
  type EventInput,
  type ReconcileContext,
  type ReconcileResult,
} from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { Index } from "../shared/caches.js";
import { isNamed, type Named } from "../shared/named.js";
import { nameHash } from "../shared/name-hash.js";
import { UnseenWrites } from "../shared/unseen-writes.js";
import { sandboxFromTemplate } from "../shared/sandbox-from-template.js";
import { adoptableMemberCheck, updateStrategyOf } from "../shared/adoptable-member.js";
import { staleMemberCheck, type MemberBlueprint } from "../shared/stale-member.js";
import { blueprintForClaim, forcesColdStart } from "./blueprint-overrides.js";
import { claimAnnotationsToSet, isAdoptedSandbox, type ClaimAnnotationIntent } from "./claim-annotations.js";
import { claimExpiresAt } from "./expiry.js";
import { FirstObserved } from "./first-observed.js";
import { computeClaimStatus, type ClaimedSandbox, type ClaimObservation, type PreviousClaimStatus } from "./status.js";
import { templateVolumeClaimTemplatesRefusal } from "./volume-claim-templates.js";
import { warmCandidates } from "./warm-candidates.js";

type Claim = Named<SandboxClaim>;
type NamedSandbox = Named<Sandbox & KubernetesObject>;

/** How many Ready pool members a claim tries before it gives up on warm adoption for this pass. */
const maxAdoptionAttempts = 3;

/**
 * Bindings this process made (claim uid -> sandbox name) that the cache may not
 * show yet. They stop a second pass from adopting or creating another sandbox
 * for the same claim; `reserved` stops two claims from racing for one member.
 */
export class ClaimBindings {
  readonly byClaim = new Map<string, { sandbox: string; expiresAt: number }>();
  readonly reserved = new Set<string>();
  /**
   * Pool members this process adopted ("ns/name" -> the resourceVersion they had before), kept
   * until the cache shows a newer version. Without this, a claim reconciled in the gap picks a
   * member that is already gone, loses a 409 round trip on it and, after a few, falls back to a
   * cold start (measured: 5-10 cold starts per burst of 100 claims on a pool of 100).
   */
  readonly #adopted = new Map<string, { resourceVersion: string; expiresAt: number }>();

  bind(claimUID: string, sandbox: string, now: number): void {
    this.byClaim.set(claimUID, { sandbox, expiresAt: now + 60_000 });
  }

  lookup(claimUID: string, now: number): string | undefined {
    const b = this.byClaim.get(claimUID);
    if (b && b.expiresAt <= now) this.byClaim.delete(claimUID);
    return b && b.expiresAt > now ? b.sandbox : undefined;
  }

  settle(claimUID: string): void {
    this.byClaim.delete(claimUID);
  }

  /** How long until the claim's pending binding runs out, if it has one. */
  pendingForMs(claimUID: string, now: number): number | undefined {
    const b = this.byClaim.get(claimUID);
    return b && b.expiresAt > now ? b.expiresAt - now : undefined;
  }

  markAdopted(memberKey: string, previousResourceVersion: string, now: number): void {
    this.#adopted.set(memberKey, { resourceVersion: previousResourceVersion, expiresAt: now + 60_000 });
  }

  /** True while the cache still shows a member as it was before this process adopted it. */
  adoptedButNotCached(memberKey: string, cachedResourceVersion: string | undefined, now: number): boolean {
    const a = this.#adopted.get(memberKey);
    if (!a) return false;
    if (a.expiresAt <= now || a.resourceVersion !== cachedResourceVersion) {
      this.#adopted.delete(memberKey);
      return false;
    }
    return true;
  }
}

/**
 * `firstObserved` must be fed by the claim informer's events (see FirstObserved); without, a
 * claim counts as first observed when a pass first gets to it.
 */
export function makeClaimReconciler(deps: ControllerDeps, bindings: ClaimBindings, firstObserved = new FirstObserved(), unseenWrites = new UnseenWrites()) {
  const { kube, caches } = deps;
  const annotationWrites = new UnseenWrites();

  return async function reconcileClaim(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = caches.claims.get(ctx.namespace, ctx.name);
    if (!cached) {
      unseenWrites.forget(key);
      annotationWrites.forget(key);
      return;
    }
    if (!isNamed(cached) || cached.metadata.deletionTimestamp) return;
    const claim: Claim = cached;
    const firstObservedAt = firstObserved.stampFor(claim);
    const now = deps.now();
    const nowMs = now.getTime();
    let sandbox = findBoundSandbox(claim, nowMs);
    const adoptedName = (s: NamedSandbox | undefined): string | undefined => (s && isAdoptedSandbox(claim.metadata.name, s) ? s.metadata.name : undefined);

    const expiresAt = claimExpiresAt(claim);
    if (expiresAt !== undefined && expiresAt <= nowMs) {
      const claimDeleted = await expire(claim, sandbox, ctx);
      if (claimDeleted) return;
      const annotated = await writeAnnotations(claim, { firstObservedAt, adoptedSandbox: adoptedName(sandbox) }, ctx);
      // The Sandbox just asked to go is still reported until it is gone (its deletion wakes us).
      await writeStatus(claim, { expired: true, sandbox }, now, ctx, annotated);
      return;
    }
    const requeue = expiresAt !== undefined ? { requeueAfter: expiresAt - nowMs + 1 } : undefined;

    if (!sandbox) {
      const bound = await bindSandbox(claim, ctx, nowMs);
      // The claim's status goes out before the event that tells the same story: on a loaded
      // API server the event's write would otherwise delay the write the client is waiting on.
      const announce = (): void => {
        if ("event" in bound && bound.event) deps.events.event(claim as KubernetesObject, bound.event);
      };
      if ("refusal" in bound) {
        // Repeats are folded into one Event series by the recorder, so a retry loop cannot flood.
        deps.events.event(claim as KubernetesObject, { type: "Warning", reason: bound.refusal.reason, action: "Bind", note: bound.refusal.note });
        const annotated = await writeAnnotations(claim, { firstObservedAt }, ctx);
        await writeStatus(claim, { expired: false, sandbox: undefined, refusal: bound.refusal }, now, ctx, annotated);
        return bound.retryAfterMs !== undefined ? { requeueAfter: bound.retryAfterMs } : requeue;
      }
      sandbox = bound.sandbox;
      if (!sandbox) {
        // Bound in an earlier pass, and the cache has not caught up: the status written then
        // (naming the sandbox) stands until it does, as upstream leaves it on cache lag.
        await writeAnnotations(claim, { firstObservedAt, adoptedSandbox: bound.adopted ? bound.name : undefined }, ctx);
        announce();
        // Should the bound sandbox never show up in the cache (deleted meanwhile, say by a pool
        // scale-down racing the adoption), look again once the binding runs out: no event would.
        const pendingMs = bindings.pendingForMs(claim.metadata.uid, nowMs);
        if (pendingMs === undefined) return requeue;
        return { requeueAfter: Math.min(pendingMs + 1, requeue?.requeueAfter ?? Number.POSITIVE_INFINITY) };
      }
      // An adopted Sandbox is named in the claim's metadata before the status reports it Ready.
      const annotated = await writeAnnotations(claim, { firstObservedAt, adoptedSandbox: bound.adopted ? sandbox.metadata.name : undefined }, ctx);
      await writeStatus(claim, { expired: false, sandbox }, now, ctx, annotated);
      announce();
      return requeue;
    }
    // Also repairs a claim whose annotation write was lost after its adoption (a crash, an error).
    const annotated = await writeAnnotations(claim, { firstObservedAt, adoptedSandbox: adoptedName(sandbox) }, ctx);
    await writeStatus(claim, { expired: false, sandbox }, now, ctx, annotated);
    return requeue;
  };

  /** The sandbox this claim already has, if any: from status, this process's memory, or ownership. */
  function findBoundSandbox(claim: Claim, nowMs: number): NamedSandbox | undefined {
    const ns = claim.metadata.namespace;
    const names = [
      claim.status?.sandbox?.name,
      claim.metadata.annotations?.[AnnotationKeys.SandboxName],
      bindings.lookup(claim.metadata.uid, nowMs),
    ];
    for (const name of names) {
      if (!name) continue;
      const s = caches.sandboxes.get(ns, name);
      if (s && isNamed(s) && controlledBy(s, claim.metadata.uid)) {
        bindings.settle(claim.metadata.uid);
        return s;
      }
    }
    const owned = caches.sandboxes.byIndex(Index.ByControllerUID, claim.metadata.uid).find(isNamed);
    if (owned) bindings.settle(claim.metadata.uid);
    return owned;
  }

  /** A refusal's condition message is upstream's; the Event's note may say more. */
  type Refusal = { reason: string; message: string; note: string };
  type BindResult =
    | { sandbox: NamedSandbox | undefined; name: string; adopted: boolean; event?: EventInput }
    | { refusal: Refusal; retryAfterMs?: number };

  async function bindSandbox(claim: Claim, ctx: ReconcileContext, nowMs: number): Promise<BindResult> {
    const ns = claim.metadata.namespace;
    // A name we bound in an earlier pass that the cache has not caught up with: wait for it.
    const pendingName = bindings.lookup(claim.metadata.uid, nowMs);
    // Only a cold-started Sandbox bears the claim's name.
    if (pendingName) return { sandbox: undefined, name: pendingName, adopted: pendingName !== claim.metadata.name };

    const pool = caches.pools.get(ns, claim.spec.warmPoolRef.name);
    if (!pool || !isNamed(pool)) {
      const message = `SandboxWarmPool "${claim.spec.warmPoolRef.name}" not found`;
      return { refusal: { reason: SandboxClaimReason.WarmPoolNotFound, message, note: `${message} in namespace ${ns}` }, retryAfterMs: 60_000 };
    }
    const template = caches.templates.get(ns, pool.spec.sandboxTemplateRef.name);
    if (!template || !isNamed(template)) {
      const message = `SandboxTemplate "${pool.spec.sandboxTemplateRef.name}" not found`;
      return { refusal: { reason: SandboxClaimReason.TemplateNotFound, message, note: `${message} in namespace ${ns}` }, retryAfterMs: 60_000 };
    }
    const blueprint = blueprintForClaim(claim, template);
    if (!blueprint.ok) return { refusal: { reason: blueprint.reason, message: blueprint.message, note: blueprint.message } };

    if (!forcesColdStart(claim)) {
      const adoptable = adoptableMemberCheck(updateStrategyOf(pool), staleMemberCheck(template));
      const adopted = await adoptReadyMember(claim, pool, adoptable, ctx, nowMs);
      // The member was Ready with pod IPs when adopted, so the claim can report it at once
      // instead of waiting for the watch to bring the re-parented Sandbox back.
      if (adopted) {
        return {
          sandbox: adopted,
          name: adopted.metadata.name,
          adopted: true,
          event: { type: "Normal", reason: "SandboxAdopted", action: "Adopt", note: `Adopted warm Sandbox ${adopted.metadata.name} from SandboxWarmPool ${claim.spec.warmPoolRef.name}` },
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
      owner: controllerRef(claim as KubernetesObject),
      labels: { [LabelKeys.ClaimUID]: claim.metadata.uid, [LabelKeys.LaunchType]: LaunchType.Cold },
      blueprint: blueprint.blueprint,
    });
    // The created (or found) object is reported at once, as upstream does: the claim names its
    // Sandbox from the first pass, before the watch brings the Sandbox into the cache.
    let created: (Sandbox & KubernetesObject) | undefined;
    try {
      created = await kube.create(cold as KubernetesObject & Sandbox, { signal: ctx.signal });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await kube.getOrUndefined<Sandbox & KubernetesObject>(
        { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: ns, name: claim.metadata.name },
        { signal: ctx.signal },
      );
      if (!existing || !controlledBy(existing, claim.metadata.uid)) {
        const note = `sandbox "${claim.metadata.name}" is not controlled by claim "${claim.metadata.name}". Please use a different claim name or delete the sandbox manually`;
        return { refusal: { reason: SandboxClaimReason.ReconcilerError, message: SandboxClaimMessage.ErrorPrefix + note, note }, retryAfterMs: 30_000 };
      }
      created = existing;
    }
    bindings.bind(claim.metadata.uid, claim.metadata.name, nowMs);
    deps.metrics.claimsCreated.inc({ launch_type: LaunchType.Cold });
    ctx.log.info({ sandbox: claim.metadata.name }, "Created Sandbox for claim (cold start)");
    return {
      sandbox: created && isNamed(created) ? created : undefined,
      name: claim.metadata.name,
      adopted: false,
      event: { type: "Normal", reason: "SandboxProvisioned", action: "Create", note: `Created Sandbox ${claim.metadata.name} from SandboxTemplate ${template.metadata.name} (cold start)` },
    };
  }

  /**
   * Re-parents one Ready pool member the template rule accepts (`adoptable`,
   * see adoptableMemberCheck) to the claim. Everything is judged on cached
   * objects; the patch carries the member's resourceVersion, so if two writers
   * race for it the API server lets exactly one win (409 for the other, which
   * tries the next member).
   */
  async function adoptReadyMember(
    claim: Claim,
    pool: Named<{ metadata: object }>,
    adoptable: (member: MemberBlueprint) => boolean,
    ctx: ReconcileContext,
    nowMs: number,
  ): Promise<NamedSandbox | undefined> {
    const candidates = warmCandidates(caches.sandboxes.byIndex(Index.ByWarmPool, nameHash(pool.metadata.name)), {
      namespace: claim.metadata.namespace,
      poolUID: pool.metadata.uid,
      adoptable,
      taken: (s) => {
        const key = `${s.metadata.namespace}/${s.metadata.name}`;
        return bindings.reserved.has(key) || bindings.adoptedButNotCached(key, s.metadata.resourceVersion, nowMs);
      },
    });

    for (const candidate of candidates.slice(0, maxAdoptionAttempts)) {
      const reservation = `${candidate.metadata.namespace}/${candidate.metadata.name}`;
      bindings.reserved.add(reservation);
      try {
        await kube.patch(
          { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: candidate.metadata.namespace, name: candidate.metadata.name },
          adoptionPatch(candidate, claim),
          { type: "merge", signal: ctx.signal },
        );
        bindings.bind(claim.metadata.uid, candidate.metadata.name, nowMs);
        bindings.markAdopted(reservation, candidate.metadata.resourceVersion ?? "", nowMs);
        deps.metrics.claimsCreated.inc({ launch_type: LaunchType.Warm });
        ctx.log.info({ sandbox: candidate.metadata.name }, "Adopted warm Sandbox for claim");
        return candidate;
      } catch (err) {
        if (!isConflict(err)) throw err;
        ctx.log.debug({ sandbox: candidate.metadata.name }, "Lost the race for a warm Sandbox; trying the next one");
      } finally {
        bindings.reserved.delete(reservation);
      }
    }
    return undefined;
  }

  /** Returns true when the claim itself was deleted (so there is no status left to write). */
  async function expire(claim: Claim, sandbox: NamedSandbox | undefined, ctx: ReconcileContext): Promise<boolean> {
    const policy = claim.spec.lifecycle?.shutdownPolicy ?? ClaimShutdownPolicy.Retain;
    const claimRef = { apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace: claim.metadata.namespace, name: claim.metadata.name };
    deps.events.event(claim as KubernetesObject, { type: "Normal", reason: "ClaimExpired", action: "Expire", note: `Claim expired; shutdownPolicy ${policy}` });
    if (policy === ClaimShutdownPolicy.Retain) {
      if (sandbox) {
        await ignoreNotFound(
          kube.delete(
            { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: sandbox.metadata.namespace, name: sandbox.metadata.name },
            { preconditions: { uid: sandbox.metadata.uid }, signal: ctx.signal },
          ),
        );
      }
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
   * Merge-patches the claim's annotations (upstream's patch: only the keys it sets, no
   * resourceVersion precondition), and returns the claim's resourceVersion after it, if it wrote.
   */
  async function writeAnnotations(claim: Claim, want: ClaimAnnotationIntent, ctx: ReconcileContext): Promise<string | undefined> {
    const annotations = claimAnnotationsToSet(claim.metadata.annotations, want);
    if (!annotations || annotationWrites.alreadySent(ctx.key, claim.metadata.resourceVersion, annotations)) return undefined;
    const patched = await kube.patch<KubernetesObject>(
      { apiVersion: SandboxClaimGVK.apiVersion, kind: SandboxClaimGVK.kind, namespace: claim.metadata.namespace, name: claim.metadata.name },
      { metadata: { annotations } },
      { type: "merge", signal: ctx.signal },
    );
    annotationWrites.sent(ctx.key, claim.metadata.resourceVersion, annotations);
    return patched.metadata?.resourceVersion;
  }

  /** `annotatedAt`: the claim's resourceVersion after this pass's annotation patch, if it made one. */
  async function writeStatus(
    claim: Claim,
    observed: { expired: boolean; sandbox: NamedSandbox | undefined; refusal?: ClaimObservation["refusal"] },
    now: Date,
    ctx: ReconcileContext,
    annotatedAt?: string,
  ): Promise<void> {
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
    if (!changed || unseenWrites.alreadySent(ctx.key, claim.metadata.resourceVersion, status)) return;

    await kube.applyStatus(
      {
        apiVersion: SandboxClaimGVK.apiVersion,
        kind: SandboxClaimGVK.kind,
        metadata: { name: claim.metadata.name, namespace: claim.metadata.namespace },
        status,
      },
      { signal: ctx.signal },
    );
    // The cache may show our annotation patch before this write: the status is unseen there too.
    unseenWrites.sent(ctx.key, claim.metadata.resourceVersion, status, annotatedAt);
    const ready = SandboxClaimConditionType.Ready;
    if (isTrue(status.conditions, ready) && !isTrue(previous?.conditions, ready) && claim.metadata.creationTimestamp) {
      const launchType = observed.sandbox?.metadata.labels?.[LabelKeys.LaunchType] ?? LaunchType.Cold;
      deps.metrics.claimReadySeconds.observe({ launch_type: launchType }, (now.getTime() - Date.parse(String(claim.metadata.creationTimestamp))) / 1000);
    }
  }
}

function controlledBy(obj: { metadata: { ownerReferences?: { uid: string; controller?: boolean }[] | undefined } }, uid: string): boolean {
  return obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller === true) ?? false;
}

/** The merge patch that moves a pool member to a claim; resourceVersion makes it conditional. */
function adoptionPatch(member: NamedSandbox, claim: Claim): unknown {
  const extra = claim.spec.additionalPodMetadata;
  const podMetadata = member.spec.podTemplate.metadata ?? {};
  return {
    metadata: {
      resourceVersion: member.metadata.resourceVersion,
      ownerReferences: [controllerRef(claim as KubernetesObject)],
      labels: {
        [LabelKeys.WarmPoolSandbox]: null,
        [LabelKeys.ClaimUID]: claim.metadata.uid,
        [LabelKeys.LaunchType]: LaunchType.Warm,
      },
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
