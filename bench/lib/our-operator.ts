// Stopping and restarting this project's operator as Helm installed it (the Deployment
// agent-sandbox-controller in agent-sandbox-system), so another controller can own the cluster's
// sandboxes for a while: scale to 0 and wait until its pods are gone; scale back and wait until
// the pods are Ready and one of them holds the leader lease (Ready alone does not mean leading).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Kube } from "../../src/runtime/index.js";
import { OPERATOR_NS, sleep, type Obj } from "./local-cluster.js";

const DEPLOYMENT = "agent-sandbox-controller";
const LEASE = "agent-sandbox-ts-leader";

/**
 * Where the replicas from before a stop are kept, on the Deployment itself, so a run that was
 * interrupted while our operator was scaled to 0 can be followed by one that restores it.
 */
const REPLICAS_ANNOTATION = "bench.agents.x-k8s.io/replicas-before-stop";

type Deployment = KubernetesObject & {
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: { readyReplicas?: number; updatedReplicas?: number };
};

const deploymentRef = { apiVersion: "apps/v1", kind: "Deployment", namespace: OPERATOR_NS, name: DEPLOYMENT };

async function operatorPods(kube: Kube): Promise<Obj[]> {
  const d = await kube.get<Deployment>(deploymentRef);
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (!selector) throw new Error(`Deployment ${DEPLOYMENT} has no matchLabels selector`);
  return (await kube.list<Obj>({ apiVersion: "v1", kind: "Pod" }, { namespace: OPERATOR_NS, labelSelector: selector })).items;
}

/** Set-up polling (not a measured interval), bounded. */
async function poll(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * The replicas our operator should run with: what the Deployment asks for, or, when an earlier
 * run left it at 0, what it asked for before that run stopped it.
 */
export async function ourReplicas(kube: Kube): Promise<number> {
  const d = await kube.get<Deployment>(deploymentRef);
  const now = d.spec?.replicas ?? 1;
  const before = Number(d.metadata?.annotations?.[REPLICAS_ANNOTATION]);
  return now === 0 && Number.isInteger(before) && before > 0 ? before : now;
}

/** Scales our operator to 0 and waits until none of its pods is left (Terminating ones included). */
export async function stopOurOperator(kube: Kube, replicasBefore: number): Promise<void> {
  await kube.patch(
    deploymentRef,
    { metadata: { annotations: { [REPLICAS_ANNOTATION]: String(replicasBefore) } }, spec: { replicas: 0 } },
    { type: "merge" },
  );
  await poll(async () => (await operatorPods(kube)).length === 0, 120_000, `the pods of ${DEPLOYMENT} to be gone`);
}

/** Scales our operator back to `replicas` and waits until they are Ready and one leads. */
export async function startOurOperator(kube: Kube, replicas: number): Promise<void> {
  await kube.patch(deploymentRef, { metadata: { annotations: { [REPLICAS_ANNOTATION]: null } }, spec: { replicas } }, { type: "merge" });
  await poll(
    async () => {
      const pods = (await operatorPods(kube)).filter((p) => !p.metadata?.deletionTimestamp);
      const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      if (pods.length !== replicas || ready.length !== replicas) return false;
      const lease = await kube.getOrUndefined<KubernetesObject & { spec?: { holderIdentity?: string } }>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: OPERATOR_NS,
        name: LEASE,
      });
      const holder = lease?.spec?.holderIdentity ?? "";
      return ready.some((p) => holder.startsWith(`${p.metadata?.name}_`));
    },
    180_000,
    `${replicas} Ready pods of ${DEPLOYMENT}, one holding lease ${LEASE}`,
  );
}
