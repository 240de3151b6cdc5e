import { randomBytes } from "node:crypto";
import {
  LabelKeys,
  LaunchType,
  SandboxConditionType,
  SandboxGVK,
  SandboxWarmPoolConditionType,
  SandboxWarmPoolGVK,
  SandboxWarmPoolReason,
  type Sandbox,
  type SandboxTemplate,
  type SandboxWarmPool,
} from "../../api/index.js";
import {
  controllerRef,
  findCondition,
  ignoreNotFound,
  isAlreadyExists,
  isTrue,
  setCondition,
  type Condition,
  type ReconcileContext,
  type ReconcileResult,
} from "../../runtime/index.js";
import type { ControllerDeps } from "../deps.js";
import { Index } from "../shared/caches.js";
import { isNamed, type Named } from "../shared/named.js";
import { nameHash } from "../shared/name-hash.js";
import { sandboxFromTemplate } from "../shared/sandbox-from-template.js";
import { staleMemberCheck, type MemberBlueprint } from "../shared/stale-member.js";
import { adoptableMemberCheck, updateStrategyOf } from "../shared/adoptable-member.js";
import type { Expectations } from "../shared/expectations.js";
import { planPool, type MemberView } from "./plan.js";
import { claimsFirstHold, isWaitingClaim } from "./claims-first.js";

/** Members are created in parallel batches of at most this many API calls. */
const maxCreateBatch = 50;

export function poolSelector(poolName: string): string {
  return `${LabelKeys.WarmPoolSandbox}=${nameHash(poolName)}`;
}

/** A member name the pool chooses itself (not generateName), so expectations can track it. */
function memberName(poolName: string): string {
  const suffix = randomBytes(4).toString("hex").slice(0, 5);
  return `${poolName.slice(0, 56)}-${suffix}`;
}

export function makeWarmPoolReconciler(deps: ControllerDeps, expectations: Expectations) {
  const { kube, caches, config } = deps;
  /** Pool key -> when its writes were first held back for waiting claims (see claims-first.ts). */
  const heldSince = new Map<string, number>();

  return async function reconcileWarmPool(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = caches.pools.get(ctx.namespace, ctx.name);
    if (!cached) {
      expectations.forget(key);
      heldSince.delete(key);
      return;
    }
    if (!isNamed(cached) || cached.metadata.deletionTimestamp) return;
    const pool: Named<SandboxWarmPool> = cached;
    const now = deps.now();
    const nowMs = now.getTime();
    const members = caches.sandboxes
      .byIndex(Index.ByWarmPool, nameHash(pool.metadata.name))
      .filter(
        (s) =>
          s.metadata.namespace === pool.metadata.namespace &&
          s.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid && r.controller),
      );
    const { creating, deleting } = expectations.pending(key, new Set(members.map((m) => m.metadata.name ?? "")), nowMs);
    const active = members.filter((m) => !m.metadata.deletionTimestamp && !deleting.includes(m.metadata.name ?? ""));

    const template = caches.templates.get(pool.metadata.namespace, pool.spec.sandboxTemplateRef.name);
    if (!template || !isNamed(template)) {
      await writeStatus(
        pool,
        active,
        {
          status: "False",
          reason: SandboxWarmPoolReason.TemplateNotFound,
          message: `SandboxTemplate ${pool.spec.sandboxTemplateRef.name} not found in namespace ${pool.metadata.namespace}`,
        },
        now,
        ctx,
      );
      // The template's own watch event re-enqueues this pool; the timer is a safety net only.
      return { requeueAfter: 60_000 };
    }

    const strategy = updateStrategyOf(pool);
    const isStale = staleMemberCheck(template);
    const views: MemberView[] = active.map((m) => memberView(m, isStale));
    const plan = planPool({
      replicas: pool.spec.replicas ?? 1,
      members: views,
      pendingCreates: creating.length,
      strategy,
      nowMs,
      readinessGraceMs: config.warmPoolReadinessGraceMs,
      unschedulableRecheckMs: config.warmPoolUnschedulableRecheckMs,
    });

    for (const d of plan.delete) {
      ctx.log.info({ sandbox: d.name, reason: d.reason }, "Deleting warm pool member");
      expectations.expectDelete(key, d.name, nowMs);
      const member = active.find((m) => m.metadata.name === d.name);
      try {
        await ignoreNotFound(
          kube.delete(
            { apiVersion: SandboxGVK.apiVersion, kind: SandboxGVK.kind, namespace: pool.metadata.namespace, name: d.name },
            // The resourceVersion too: a member a claim adopted since our cache saw it keeps its
            // uid, and deleting it would take the sandbox from under that claim.
            { preconditions: { uid: member?.metadata.uid, resourceVersion: member?.metadata.resourceVersion }, signal: ctx.signal },
          ),
        );
      } catch (err) {
        expectations.deletionFailed(key, d.name);
        throw err;
      }
    }
    // Members counted by the claim's own rule: holding back for members no claim will take
    // would only delay the refill those claims' cold starts are competing with.
    const adoptable = adoptableMemberCheck(strategy, isStale);
    const hold = claimsFirstHold({
      waitingClaims: waitingClaims(pool),
      readyMembers: active.filter((m) => isTrue(m.status?.conditions, SandboxConditionType.Ready) && adoptable(m)).length,
      heldSinceMs: heldSince.get(key),
      nowMs,
    });
    const requeueAfter = Math.min(plan.requeueAfterMs ?? Infinity, hold.hold ? hold.recheckAfterMs : Infinity);
    if (hold.hold) {
      heldSince.set(key, hold.sinceMs);
      ctx.log.debug({ missing: plan.create }, "Holding the refill and the status write back while claims on this pool wait");
      return { requeueAfter };
    }
    heldSince.delete(key);
    if (plan.create > 0) await createMembers(pool, template, plan.create, key, ctx);

    const remaining = active.filter((m) => !plan.delete.some((d) => d.name === m.metadata.name));
    const ready = remaining.filter((m) => isTrue(m.status?.conditions, SandboxConditionType.Ready)).length;
    const unschedulable = views.filter((v) => v.unschedulable).length;
    const replicas = pool.spec.replicas ?? 1;
    await writeStatus(
      pool,
      remaining,
      ready >= replicas
        ? { status: "True", reason: SandboxWarmPoolReason.ReplicasReady, message: `${ready}/${replicas} sandboxes are Ready` }
        : {
            status: "False",
            reason: unschedulable > 0 ? SandboxWarmPoolReason.MembersUnschedulable : SandboxWarmPoolReason.ReplicasNotReady,
            message: `${ready}/${replicas} sandboxes are Ready${unschedulable > 0 ? `; ${unschedulable} cannot be scheduled` : ""}`,
          },
      now,
      ctx,
    );
    return Number.isFinite(requeueAfter) ? { requeueAfter } : undefined;
  };

  function waitingClaims(pool: Named<SandboxWarmPool>): number {
    return caches.claims.byIndex(Index.ByPoolRef, `${pool.metadata.namespace}/${pool.metadata.name}`).filter(isWaitingClaim).length;
  }

  async function createMembers(
    pool: Named<SandboxWarmPool>,
    template: Named<SandboxTemplate>,
    count: number,
    key: string,
    ctx: ReconcileContext,
  ): Promise<void> {
    const owner = controllerRef(pool);
    for (let done = 0; done < count; done += maxCreateBatch) {
      const batch = Array.from({ length: Math.min(maxCreateBatch, count - done) }, () => memberName(pool.metadata.name));
      const results = await Promise.allSettled(
        batch.map(async (name) => {
          expectations.expectCreate(key, name, deps.now().getTime());
          const sandbox = sandboxFromTemplate({
            name,
            namespace: pool.metadata.namespace,
            template,
            owner,
            labels: { [LabelKeys.WarmPoolSandbox]: nameHash(pool.metadata.name), [LabelKeys.LaunchType]: LaunchType.Warm },
          });
          try {
            await kube.create(sandbox, { signal: ctx.signal });
          } catch (err) {
            expectations.creationFailed(key, name);
            if (!isAlreadyExists(err)) throw err;
          }
        }),
      );
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      ctx.log.info({ created: batch.length - failed.length, failed: failed.length }, "Created warm pool members");
      if (failed.length > 0) throw failed[0]?.reason;
    }
  }

  async function writeStatus(
    pool: Named<SandboxWarmPool>,
    members: Sandbox[],
    ready: Omit<Condition, "type" | "lastTransitionTime" | "observedGeneration">,
    now: Date,
    ctx: ReconcileContext,
  ): Promise<void> {
    const generation = pool.metadata.generation ?? 0;
    const { conditions, changed } = setCondition(
      pool.status?.conditions,
      { type: SandboxWarmPoolConditionType.Ready, ...ready, observedGeneration: generation },
      now,
    );
    const status = {
      replicas: members.length,
      readyReplicas: members.filter((m) => isTrue(m.status?.conditions, SandboxConditionType.Ready)).length,
      selector: poolSelector(pool.metadata.name),
      observedGeneration: generation,
      conditions,
    };
    const cur = pool.status;
    if (
      !changed &&
      cur?.replicas === status.replicas &&
      cur.readyReplicas === status.readyReplicas &&
      cur.selector === status.selector &&
      cur.observedGeneration === status.observedGeneration
    ) {
      return;
    }
    await kube.applyStatus(
      {
        apiVersion: SandboxWarmPoolGVK.apiVersion,
        kind: SandboxWarmPoolGVK.kind,
        metadata: { name: pool.metadata.name, namespace: pool.metadata.namespace },
        status,
      },
      { signal: ctx.signal },
    );
  }
}

function memberView(m: Sandbox, isStale: (member: MemberBlueprint) => boolean): MemberView {
  const scheduled = findCondition(m.status?.conditions, "PodScheduled");
  return {
    name: m.metadata.name ?? "",
    ready: isTrue(m.status?.conditions, SandboxConditionType.Ready),
    stale: isStale(m),
    createdAtMs: m.metadata.creationTimestamp ? Date.parse(String(m.metadata.creationTimestamp)) : 0,
    unschedulable: scheduled?.status === "False" && scheduled.reason === "Unschedulable",
  };
}
