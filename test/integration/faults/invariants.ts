// The invariants every fault test and the soak check once the system has settled. One module, so
// a test and `npm run soak` judge the same way. Reads the world straight from the API server
// (never the operator's cache): claims, sandboxes, pools and the sandboxes' children.
//
//  claim.*    every live claim is bound (status.sandbox.name), controls exactly one Sandbox, and
//             that Sandbox is the one its status names, carries its claim-uid label and is Ready;
//             no Sandbox is named by two claims.
//  orphan.*   every Pod, Service and NetworkPolicy in the namespace, and every owned Sandbox, has
//             a controller owner that exists with the same uid.
//  sandbox.*  every Sandbox has its children (one pod, its policy, its service when asked for),
//             its pod's execution server is bound to it (namespace, name and uid), and its Ready
//             condition and podIPs say what its pod says.
//  drift.*    children still do what the operator intends (selectors, deny-all policy).
//  pool.*     each pool has exactly spec.replicas live members, its status counts them truly, and
//             (with a PoolLedger) it never created more members than it needed.
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject, V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import { defaultOperatorConfig, type OperatorConfig } from "../../../src/config/operator-config.js";
import { LabelKeys } from "../../../src/api/labels.js";
import { nameHash } from "../../../src/controllers/shared/name-hash.js";
import { routerOnlyIngress } from "../../../src/controllers/shared/network-policy.js";
import type { Kube } from "../../../src/runtime/index.js";
import type { PoolLedger } from "./pool-ledger.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
const SB = "agents.x-k8s.io/v1beta1";

interface Cond {
  type: string;
  status: string;
  reason?: string;
}
export type Obj = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Cond[] };
};

export interface Violation {
  invariant: string;
  object: string;
  detail: string;
}

export interface InvariantReport {
  namespace: string;
  /** Individual checks evaluated (one per invariant per object). */
  checks: number;
  violations: Violation[];
  counts: { claims: number; sandboxes: number; pools: number; pods: number; services: number; networkPolicies: number };
}

export interface CheckOptions {
  config?: OperatorConfig;
  /** Counts pool creations against what was needed (over-creation). */
  ledger?: PoolLedger;
}

const cond = (o: Obj | undefined, type: string): Cond | undefined => o?.status?.conditions?.find((c) => c.type === type);
const isTrue = (o: Obj | undefined, type: string): boolean => cond(o, type)?.status === "True";
const live = (o: KubernetesObject): boolean => !o.metadata?.deletionTimestamp;
const controller = (o: KubernetesObject): V1OwnerReference | undefined => o.metadata?.ownerReferences?.find((r) => r.controller === true);
const podReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const ips = (list: unknown): string[] =>
  (Array.isArray(list) ? list : []).map((x: unknown) => (typeof x === "string" ? x : ((x as { ip?: string }).ip ?? ""))).sort();

/** True when the claim's lifecycle has passed (it is allowed to have no sandbox). */
function claimExpired(c: Obj): boolean {
  const at = (c.spec?.["lifecycle"] as { shutdownTime?: string } | undefined)?.shutdownTime;
  return (at !== undefined && Date.parse(at) <= Date.now()) || cond(c, "Ready")?.reason === "ClaimExpired";
}

export async function checkInvariants(kube: Kube, namespace: string, opts: CheckOptions = {}): Promise<InvariantReport> {
  const config = opts.config ?? defaultOperatorConfig;
  const list = async <T extends KubernetesObject>(apiVersion: string, kind: string): Promise<T[]> =>
    (await kube.list<T>({ apiVersion, kind }, { namespace })).items;
  const [claims, sandboxes, pools, templates, pods, services, policies] = await Promise.all([
    list<Obj>(EXT, "SandboxClaim"),
    list<Obj>(SB, "Sandbox"),
    list<Obj>(EXT, "SandboxWarmPool"),
    list<Obj>(EXT, "SandboxTemplate"),
    list<V1Pod>("v1", "Pod"),
    list<Obj>("v1", "Service"),
    list<Obj>("networking.k8s.io/v1", "NetworkPolicy"),
  ]);
  const violations: Violation[] = [];
  let checks = 0;
  const check = (ok: boolean, invariant: string, object: string, detail: () => string): void => {
    checks++;
    if (!ok) violations.push({ invariant, object, detail: detail() });
  };

  const byUID = new Map<string, { kind: string; name: string }>();
  for (const [kind, items] of [
    ["SandboxClaim", claims],
    ["Sandbox", sandboxes],
    ["SandboxWarmPool", pools],
    ["SandboxTemplate", templates],
  ] as const) {
    for (const o of items) byUID.set(o.metadata?.uid ?? "", { kind, name: o.metadata?.name ?? "" });
  }
  const liveSandboxes = sandboxes.filter(live);
  const sandboxByName = new Map(liveSandboxes.map((s) => [s.metadata?.name ?? "", s]));
  const controlledBy = <T extends KubernetesObject>(items: T[], uid: string | undefined): T[] =>
    items.filter((o) => live(o) && controller(o)?.uid === uid);

  // claim.*
  const namedBy = new Map<string, string[]>();
  for (const c of claims.filter(live)) {
    const name = `SandboxClaim/${c.metadata?.name}`;
    if (claimExpired(c)) continue;
    const owned = controlledBy(liveSandboxes, c.metadata?.uid);
    const statusName = (c.status?.["sandbox"] as { name?: string } | undefined)?.name;
    check(statusName !== undefined, "claim.bound", name, () => `status.sandbox.name is empty (Ready: ${JSON.stringify(cond(c, "Ready"))})`);
    check(
      owned.length === 1,
      "claim.one-sandbox",
      name,
      () => `controls ${owned.length} sandboxes: ${owned.map((s) => s.metadata?.name).join(", ") || "none"}`,
    );
    if (statusName) namedBy.set(statusName, [...(namedBy.get(statusName) ?? []), c.metadata?.name ?? ""]);
    const named = statusName ? sandboxByName.get(statusName) : undefined;
    check(
      named !== undefined && controller(named)?.uid === c.metadata?.uid && named.metadata?.labels?.[LabelKeys.ClaimUID] === c.metadata?.uid,
      "claim.status-true",
      name,
      () =>
        `status names Sandbox ${statusName ?? "(none)"}, which ${named ? `is controlled by ${controller(named)?.kind}/${controller(named)?.name} with claim-uid label ${named.metadata?.labels?.[LabelKeys.ClaimUID] ?? "(none)"}` : "does not exist"}`,
    );
    check(
      isTrue(c, "Ready") && isTrue(named, "Ready"),
      "claim.ready",
      name,
      () => `claim Ready ${JSON.stringify(cond(c, "Ready"))}, sandbox Ready ${JSON.stringify(cond(named, "Ready"))}`,
    );
  }
  for (const [sandbox, by] of namedBy) {
    check(by.length === 1, "claim.sandbox-shared", `Sandbox/${sandbox}`, () => `named by ${by.length} claims: ${by.join(", ")}`);
  }

  // orphan.*: every owned object's controller exists with the same uid.
  const ownerLive = (o: KubernetesObject, kinds: readonly string[]): string | undefined => {
    const ref = controller(o);
    if (!ref) return "has no controller ownerReference";
    if (!kinds.includes(ref.kind)) return `is controlled by unexpected kind ${ref.kind}`;
    const found = byUID.get(ref.uid);
    if (!found) return `is controlled by ${ref.kind}/${ref.name} (uid ${ref.uid}), which no longer exists`;
    return undefined;
  };
  for (const s of liveSandboxes.filter((x) => (x.metadata?.ownerReferences?.length ?? 0) > 0)) {
    const why = ownerLive(s, ["SandboxClaim", "SandboxWarmPool"]);
    check(why === undefined, "orphan.sandbox", `Sandbox/${s.metadata?.name}`, () => why ?? "");
  }
  for (const [kind, items, owners] of [
    ["Pod", pods, ["Sandbox"]],
    ["Service", services, ["Sandbox"]],
    // A template's shared policy is owned by its SandboxTemplate.
    ["NetworkPolicy", policies, ["Sandbox", "SandboxTemplate"]],
  ] as const) {
    for (const o of (items as KubernetesObject[]).filter(live)) {
      const why = ownerLive(o, owners);
      check(why === undefined, `orphan.${kind.toLowerCase()}`, `${kind}/${o.metadata?.name}`, () => why ?? "");
    }
  }

  // sandbox.* and drift.*
  for (const s of liveSandboxes) {
    const name = s.metadata?.name ?? "";
    const id = `Sandbox/${name}`;
    const suspended = s.spec?.["operatingMode"] === "Suspended";
    const finished = isTrue(s, "Finished");
    const hash = nameHash(name);
    const myPods = controlledBy(pods, s.metadata?.uid);
    const pod = myPods[0];
    if (!suspended && !finished) {
      check(
        myPods.length === 1,
        "sandbox.one-pod",
        id,
        () => `controls ${myPods.length} live pods: ${myPods.map((p) => p.metadata?.name).join(", ") || "none"}`,
      );
      check(
        pod !== undefined && podReady(pod) && isTrue(s, "Ready"),
        "sandbox.ready",
        id,
        () => `pod ${pod ? (podReady(pod) ? "Ready" : "not Ready") : "missing"}, Sandbox Ready ${JSON.stringify(cond(s, "Ready"))}`,
      );
    }
    check(
      isTrue(s, "Ready") === (pod !== undefined && podReady(pod)),
      "sandbox.status-true",
      id,
      () =>
        `Sandbox Ready=${cond(s, "Ready")?.status ?? "(none)"} but its pod is ${pod ? (podReady(pod) ? "Ready" : "not Ready") : "missing"}`,
    );
    if (pod && podReady(pod)) {
      check(
        JSON.stringify(ips(s.status?.["podIPs"])) === JSON.stringify(ips(pod.status?.podIPs)),
        "sandbox.status-true",
        id,
        () => `status.podIPs ${JSON.stringify(ips(s.status?.["podIPs"]))} but pod has ${JSON.stringify(ips(pod.status?.podIPs))}`,
      );
    }
    if (pod) {
      check(
        pod.metadata?.labels?.[LabelKeys.SandboxNameHash] === hash,
        "drift.pod-labels",
        `Pod/${pod.metadata?.name}`,
        () => `sandbox-name-hash label is ${pod.metadata?.labels?.[LabelKeys.SandboxNameHash] ?? "(none)"}, want ${hash}`,
      );
      const claimUID = s.metadata?.labels?.[LabelKeys.ClaimUID];
      check(
        pod.metadata?.labels?.[LabelKeys.ClaimUID] === claimUID,
        "drift.pod-labels",
        `Pod/${pod.metadata?.name}`,
        () => `claim-uid label is ${pod.metadata?.labels?.[LabelKeys.ClaimUID] ?? "(none)"}, its Sandbox says ${claimUID ?? "(none)"}`,
      );
      // Mutable pod spec fields: each template container's image must be what the Sandbox asks for.
      const wantContainers =
        (s.spec?.["podTemplate"] as { spec?: { containers?: { name: string; image?: string }[] } } | undefined)?.spec?.containers ?? [];
      for (const want of wantContainers) {
        const got = pod.spec?.containers.find((c) => c.name === want.name);
        check(
          got?.image === want.image,
          "drift.pod-spec",
          `Pod/${pod.metadata?.name}`,
          () => `container ${want.name} runs image ${got?.image ?? "(none)"}, its Sandbox asks for ${want.image ?? "(none)"}`,
        );
      }
      const execd = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === "sandbox-execd");
      if (execd) {
        // A router-signed token opens only the sandbox its execution server was told it serves.
        const args = execd.args ?? [];
        const bound = args[args.indexOf("--sandbox") + 1];
        const want = `${s.metadata?.namespace}/${name}/${s.metadata?.uid}`;
        check(
          args.includes("--sandbox") && bound === want,
          "sandbox.children",
          id,
          () => `its execution server serves ${bound ?? "(no sandbox)"}, want ${want}`,
        );
      }
    }
    if (s.metadata?.annotations?.["agents.x-k8s.io/network-policy"] !== "Unmanaged") {
      const np = policies.find((p) => p.metadata?.name === name && live(p));
      check(
        np !== undefined && controller(np)?.uid === s.metadata?.uid,
        "sandbox.children",
        id,
        () => `NetworkPolicy ${name} is ${np ? "not controlled by it" : "missing"}`,
      );
      if (np) {
        // Through JSON, so a key set to undefined in the builder equals an absent one.
        const want: unknown = JSON.parse(
          JSON.stringify({
            podSelector: { matchLabels: { [LabelKeys.SandboxNameHash]: hash } },
            policyTypes: ["Ingress", "Egress"],
            ingress: routerOnlyIngress(config),
          }),
        );
        const got = { podSelector: np.spec?.["podSelector"], policyTypes: np.spec?.["policyTypes"], ingress: np.spec?.["ingress"] };
        check(
          isDeepStrictEqual(got, want),
          "drift.network-policy",
          `NetworkPolicy/${name}`,
          () => `spec ${JSON.stringify(got)} is not ${JSON.stringify(want)}`,
        );
        const egress = np.spec?.["egress"];
        check(
          egress === undefined || (Array.isArray(egress) && egress.length === 0),
          "drift.network-policy",
          `NetworkPolicy/${name}`,
          () => `allows egress ${JSON.stringify(egress)}`,
        );
      }
    }
    if (s.spec?.["service"] === true) {
      const svc = services.find((x) => x.metadata?.name === name && live(x));
      check(
        svc !== undefined && controller(svc)?.uid === s.metadata?.uid,
        "sandbox.children",
        id,
        () => `Service ${name} is ${svc ? "not controlled by it" : "missing"}`,
      );
      if (svc) {
        const sel = (svc.spec?.["selector"] ?? {}) as Record<string, string>;
        check(
          isDeepStrictEqual(sel, { [LabelKeys.SandboxNameHash]: hash }),
          "drift.service-selector",
          `Service/${name}`,
          () => `selector ${JSON.stringify(sel)}`,
        );
        // Every port it exposes leads to a port one of the pod's containers (sidecars included) declares.
        const declared = new Set<string>();
        const serving = [
          ...(pod?.spec?.containers ?? []),
          ...(pod?.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always"),
        ];
        for (const c of serving) for (const p of c.ports ?? []) declared.add(String(p.containerPort)).add(p.name ?? "");
        const svcPorts = (svc.spec?.["ports"] ?? []) as { port: number; targetPort?: number | string }[];
        const stray = svcPorts.filter((p) => !declared.has(String(p.targetPort ?? p.port)));
        check(
          pod === undefined || stray.length === 0,
          "drift.service-ports",
          `Service/${name}`,
          () => `exposes ports the pod does not declare: ${JSON.stringify(stray)}`,
        );
      }
    }
  }

  // pool.*
  for (const p of pools.filter(live)) {
    const name = p.metadata?.name ?? "";
    const id = `SandboxWarmPool/${name}`;
    const want = Number(p.spec?.["replicas"] ?? 1);
    const members = controlledBy(liveSandboxes, p.metadata?.uid);
    const ready = members.filter((m) => isTrue(m, "Ready")).length;
    check(members.length === want, "pool.replicas", id, () => `${members.length} live members, spec.replicas ${want}`);
    check(
      p.status?.["replicas"] === members.length && p.status?.["readyReplicas"] === ready,
      "pool.status-true",
      id,
      () =>
        `status replicas/readyReplicas ${String(p.status?.["replicas"])}/${String(p.status?.["readyReplicas"])}, world ${members.length}/${ready}`,
    );
    if (opts.ledger) {
      const { created, needed } = opts.ledger.account(name);
      check(
        created <= needed,
        "pool.no-over-creation",
        id,
        () => `created ${created} members, needed ${needed} (${JSON.stringify(opts.ledger?.detail(name))})`,
      );
    }
  }

  return {
    namespace,
    checks,
    violations,
    counts: {
      claims: claims.length,
      sandboxes: sandboxes.length,
      pools: pools.length,
      pods: pods.length,
      services: services.length,
      networkPolicies: policies.length,
    },
  };
}

export interface SettledReport extends InvariantReport {
  /** How long it took to settle (or the bound, when it did not). */
  settleMs: number;
  settled: boolean;
  polls: number;
}

/**
 * Waits until the invariants hold on two polls in a row (the system is quiescent), or until
 * `timeoutMs` passes; returns the last report (with its violations when it never settled).
 * Transient API errors (a control plane coming back) count as "not settled yet".
 */
export async function settleAndCheck(
  kube: Kube,
  namespace: string,
  opts: CheckOptions & { timeoutMs?: number; intervalMs?: number } = {},
): Promise<SettledReport> {
  const start = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let last: InvariantReport | undefined;
  let lastErr: unknown;
  let clean = 0;
  let polls = 0;
  for (;;) {
    polls++;
    try {
      last = await checkInvariants(kube, namespace, opts);
      lastErr = undefined;
      clean = last.violations.length === 0 ? clean + 1 : 0;
      if (clean >= 2) return { ...last, settleMs: Date.now() - start, settled: true, polls };
    } catch (err) {
      lastErr = err;
      clean = 0;
    }
    if (Date.now() - start >= timeoutMs) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1_000));
  }
  const report: InvariantReport = last ?? {
    namespace,
    checks: 0,
    violations: [],
    counts: { claims: 0, sandboxes: 0, pools: 0, pods: 0, services: 0, networkPolicies: 0 },
  };
  if (lastErr)
    report.violations.push({ invariant: "check.api", object: namespace, detail: `could not read the world: ${String(lastErr)}` });
  return { ...report, settleMs: Date.now() - start, settled: false, polls };
}

/** One line per violation, for assertion messages and logs. */
export function describeViolations(r: InvariantReport): string {
  return r.violations.map((v) => `${v.invariant} ${v.object}: ${v.detail}`).join("\n");
}
