import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from "@kubernetes/client-node";
import ipaddr from "ipaddr.js";
import { selectorMatches, type Labels } from "./selectors.js";

/** What the enforcer needs to know about a pod; hostNetwork pods never appear here. */
export interface PodView {
  namespace: string;
  name: string;
  ip: string;
  labels: Labels;
  /** Named container ports, for policies that name a port instead of numbering it. */
  namedPorts: ReadonlyArray<{ name: string; port: number; protocol: string }>;
}

export interface NamespaceView {
  name: string;
  labels: Labels;
}

export const CHAIN_PREFIX = "AGSB-NP";
export const FORWARD_CHAIN = `${CHAIN_PREFIX}-FWD`;
export const INPUT_CHAIN = `${CHAIN_PREFIX}-INPUT`;
// Mark bits kube-proxy does not use (it owns 0x4000 and 0x8000).
const EGRESS_OK = "0x10000/0x10000";
const INGRESS_OK = "0x20000/0x20000";
const OUR_BITS = "0x0/0x30000";

type Direction = "ingress" | "egress";

interface RuleSet {
  chains: string[];
  lines: string[];
}

function policyTypes(p: V1NetworkPolicy): Direction[] {
  const declared = p.spec?.policyTypes;
  if (declared && declared.length > 0) {
    return declared.map((t) => (t === "Egress" ? "egress" : "ingress"));
  }
  // Per the API: Ingress always, Egress only when egress rules are present.
  return (p.spec?.egress?.length ?? 0) > 0 ? ["ingress", "egress"] : ["ingress"];
}

function selects(p: V1NetworkPolicy, pod: PodView): boolean {
  return p.metadata?.namespace === pod.namespace && selectorMatches(p.spec?.podSelector, pod.labels);
}

/** Pods a peer selects, seen from a policy in namespace `policyNs`. */
function peerPods(
  peer: V1NetworkPolicyPeer,
  policyNs: string,
  pods: readonly PodView[],
  namespaces: ReadonlyMap<string, NamespaceView>,
): PodView[] {
  return pods.filter((pod) => {
    if (peer.namespaceSelector) {
      const ns = namespaces.get(pod.namespace);
      if (!ns || !selectorMatches(peer.namespaceSelector, ns.labels)) return false;
    } else if (pod.namespace !== policyNs) {
      return false;
    }
    return peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true;
  });
}

/**
 * iptables match fragments for a rule's ports. `portPod` resolves named ports (the
 * destination pod); undefined means "any port". A named port the pod lacks matches nothing.
 */
function portMatches(ports: readonly V1NetworkPolicyPort[] | undefined, portPod: PodView | undefined): string[] | undefined {
  if (!ports || ports.length === 0) return undefined;
  const out: string[] = [];
  for (const p of ports) {
    const proto = (p.protocol ?? "TCP").toLowerCase();
    if (p.port === undefined || p.port === null) {
      out.push(`-p ${proto}`);
      continue;
    }
    if (typeof p.port === "number") {
      const range = p.endPort !== undefined && p.endPort !== null ? `${p.port}:${p.endPort}` : `${p.port}`;
      out.push(`-p ${proto} -m ${proto} --dport ${range}`);
      continue;
    }
    if (/^\d+$/.test(p.port)) {
      out.push(`-p ${proto} -m ${proto} --dport ${p.port}`);
      continue;
    }
    const named = portPod?.namedPorts.find((np) => np.name === p.port && np.protocol.toLowerCase() === proto);
    if (named) out.push(`-p ${proto} -m ${proto} --dport ${named.port}`);
  }
  return out;
}

const isNamed = (p: V1NetworkPolicyPort): boolean => typeof p.port === "string" && !/^\d+$/.test(p.port);

/**
 * Egress rules that name a port with no single destination pod to resolve it against (no peers,
 * or an ipBlock): the name means each destination pod's own port of that name, so they become
 * one match per pod that has it, limited to the pods the peer admits. Other destinations have no
 * named ports and match nothing.
 */
function namedEgressMatches(rule: { ports?: V1NetworkPolicyPort[] }, pods: readonly PodView[], admits: (ip: string) => boolean): string[] {
  const named = (rule.ports ?? []).filter(isNamed);
  const out: string[] = [];
  for (const pod of pods) {
    if (!admits(pod.ip)) continue;
    for (const m of portMatches(named, pod) ?? []) out.push(`-d ${pod.ip}/32 ${m}`);
  }
  return out;
}

function inCidr(ip: string, cidr: string): boolean {
  try {
    const addr = ipaddr.parse(ip);
    const range = ipaddr.parseCIDR(cidr);
    return addr.kind() === range[0].kind() && addr.match(range);
  } catch {
    return false;
  }
}

function cross(prefixes: string[], ports: string[] | undefined, mark: string): string[] {
  if (ports === undefined) return prefixes.map((p) => `${p} -j MARK --set-xmark ${mark}`.trim());
  return prefixes.flatMap((p) => ports.map((m) => `${p} ${m} -j MARK --set-xmark ${mark}`.replace(/\s+/g, " ").trim()));
}

/**
 * The whole filter-table state the enforcer owns, as iptables-restore input (for
 * `iptables-restore --noflush`). Declaring a chain flushes it, so every sync replaces the
 * previous one atomically; chains from an earlier sync that are gone are deleted.
 */
export function buildRestore(
  pods: readonly PodView[],
  namespaces: readonly NamespaceView[],
  policies: readonly V1NetworkPolicy[],
  previousChains: ReadonlySet<string>,
): { text: string; chains: Set<string> } {
  const nsMap = new Map(namespaces.map((n) => [n.name, n]));
  const set: RuleSet = { chains: [FORWARD_CHAIN, INPUT_CHAIN], lines: [] };
  const fwd: string[] = [
    `-A ${FORWARD_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    `-A ${FORWARD_CHAIN} -j MARK --set-xmark ${OUR_BITS}`,
  ];
  const input: string[] = [
    `-A ${INPUT_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    `-A ${INPUT_CHAIN} -j MARK --set-xmark ${OUR_BITS}`,
  ];
  let n = 0;
  const sorted = [...pods].sort((a, b) => a.ip.localeCompare(b.ip));
  for (const pod of sorted) {
    for (const dir of ["egress", "ingress"] as const) {
      const applying = policies.filter((p) => selects(p, pod) && policyTypes(p).includes(dir));
      if (applying.length === 0) continue;
      const chain = `${CHAIN_PREFIX}-${dir === "egress" ? "E" : "I"}${n++}`;
      set.chains.push(chain);
      const mark = dir === "egress" ? EGRESS_OK : INGRESS_OK;
      const peerFlag = dir === "egress" ? "-d" : "-s";
      for (const policy of applying) {
        const rules = dir === "egress" ? (policy.spec?.egress ?? []) : (policy.spec?.ingress ?? []);
        for (const rule of rules) {
          const peers = dir === "egress" ? ("to" in rule ? rule.to : undefined) : ingressPeers(rule);
          if (!peers || peers.length === 0) {
            // No peers listed: every address, on the listed ports.
            let rulePorts = rule.ports;
            if (dir === "egress" && rule.ports?.some(isNamed)) {
              set.lines.push(
                ...cross(
                  [`-A ${chain}`],
                  namedEgressMatches(rule, pods, () => true),
                  mark,
                ),
              );
              // The numbered ports still apply to every address; with none left, nothing more does.
              rulePorts = rule.ports.filter((p) => !isNamed(p));
              if (rulePorts.length === 0) continue;
            }
            set.lines.push(...cross([`-A ${chain}`], portMatches(rulePorts, dir === "ingress" ? pod : undefined), mark));
            continue;
          }
          for (const peer of peers) {
            if (peer.ipBlock) {
              // The cluster is IPv4 only: an IPv6 block matches no traffic here, and
              // iptables (not ip6tables) would refuse the whole rule set over it.
              if (peer.ipBlock.cidr.includes(":")) continue;
              const except = peer.ipBlock.except ?? [];
              let blockPorts = rule.ports;
              if (dir === "egress" && rule.ports?.some(isNamed)) {
                const block = peer.ipBlock;
                const admits = (ip: string): boolean => inCidr(ip, block.cidr) && !except.some((ex) => inCidr(ip, ex));
                set.lines.push(...cross([`-A ${chain}`], namedEgressMatches(rule, pods, admits), mark));
                // The numbered ports still apply to the whole block; with none left, nothing more does.
                blockPorts = rule.ports.filter((p) => !isNamed(p));
                if (blockPorts.length === 0) continue;
              }
              const ports = portMatches(blockPorts, dir === "ingress" ? pod : undefined);
              if (except.length === 0) {
                set.lines.push(...cross([`-A ${chain} ${peerFlag} ${peer.ipBlock.cidr}`], ports, mark));
              } else {
                // Excepted ranges RETURN from a sub-chain before the allow fires.
                const sub = `${CHAIN_PREFIX}-X${n++}`;
                set.chains.push(sub);
                set.lines.push(`-A ${chain} ${peerFlag} ${peer.ipBlock.cidr} -j ${sub}`);
                for (const ex of except) set.lines.push(`-A ${sub} ${peerFlag} ${ex} -j RETURN`);
                set.lines.push(...cross([`-A ${sub}`], ports, mark));
              }
              continue;
            }
            const ns = policy.metadata?.namespace ?? "";
            for (const peerPod of peerPods(peer, ns, pods, nsMap)) {
              const ports = portMatches(rule.ports, dir === "ingress" ? pod : peerPod);
              set.lines.push(...cross([`-A ${chain} ${peerFlag} ${peerPod.ip}/32`], ports, mark));
            }
          }
        }
      }
      set.lines.push(`-A ${chain} -m mark ! --mark ${mark} -j DROP`);
      if (dir === "egress") {
        fwd.push(`-A ${FORWARD_CHAIN} -s ${pod.ip}/32 -j ${chain}`);
        // Pod-to-node traffic (the API server's host port, the kubelet) ends in INPUT.
        input.push(`-A ${INPUT_CHAIN} -s ${pod.ip}/32 -j ${chain}`);
      } else {
        fwd.push(`-A ${FORWARD_CHAIN} -d ${pod.ip}/32 -j ${chain}`);
      }
    }
  }
  const chains = new Set(set.chains);
  const stale = [...previousChains].filter((c) => !chains.has(c));
  const text = [
    "*filter",
    ...[...chains, ...stale].map((c) => `:${c} - [0:0]`),
    ...fwd,
    ...input,
    ...set.lines,
    ...stale.map((c) => `-X ${c}`),
    "COMMIT",
    "",
  ].join("\n");
  return { text, chains };
}

/**
 * An ingress rule's peers. client-node's typed list calls rename `from` to `_from`, but its
 * watch events are raw JSON that keep `from`: read both, or a rule arriving by watch would
 * look peerless, and a peerless rule admits every source.
 */
function ingressPeers(rule: object): V1NetworkPolicyPeer[] | undefined {
  const r = rule as { _from?: V1NetworkPolicyPeer[]; from?: V1NetworkPolicyPeer[] };
  return r._from ?? r.from;
}
