import ipaddr from "ipaddr.js";
import type { NetworkPolicyEgressRule, NetworkPolicyPeer } from "./network-policy.js";

/**
 * Where clouds serve instance metadata and node credentials: the link-local range
 * (GCE, AWS, Azure and OCI at 169.254.169.254, ECS task credentials at 169.254.170.2),
 * Alibaba Cloud's 100.100.100.200 and AWS's IPv6 endpoint. A sandbox must never reach
 * them, whatever a template allows, so they are carved out of every egress rule.
 */
export const CLOUD_METADATA_CIDRS: readonly string[] = ["169.254.0.0/16", "100.100.100.200/32", "fd00:ec2::254/128"];

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const metadataRanges: Cidr[] = CLOUD_METADATA_CIDRS.map((c) => ipaddr.parseCIDR(c));
const anyIPv4 = "0.0.0.0/0";
const anyIPv6 = "::/0";

/** True when every address of `inner` is in `outer` (same family only). */
function within(inner: Cidr, outer: Cidr): boolean {
  const [innerAddr, innerBits] = inner;
  const [outerAddr, outerBits] = outer;
  if (innerAddr.kind() !== outerAddr.kind() || innerBits < outerBits) return false;
  return innerAddr.kind() === "ipv4"
    ? (innerAddr as ipaddr.IPv4).match(outerAddr as ipaddr.IPv4, outerBits)
    : (innerAddr as ipaddr.IPv6).match(outerAddr as ipaddr.IPv6, outerBits);
}

function parse(cidr: string): Cidr | undefined {
  try {
    return ipaddr.parseCIDR(cidr);
  } catch {
    return undefined;
  }
}

/** The result of carving the metadata ranges out of a template's egress rules. */
export interface MetadataCarveOut {
  egress: NetworkPolicyEgressRule[];
  /** ipBlock CIDRs that lay wholly inside a metadata range and were removed. */
  refused: string[];
}

/**
 * Rewrites egress rules so that no rule allows a cloud metadata address:
 * - an ipBlock that contains a metadata range gets that range added to `except`;
 * - an ipBlock wholly inside a metadata range is removed (and reported), and a rule
 *   left with no peer is removed, since an empty `to` would allow every address;
 * - a rule with no `to` (every destination) is spelled out as every pod in every
 *   namespace plus every IPv4 and IPv6 address except the metadata ranges.
 * Rules that never reach a metadata range come back unchanged.
 */
export function withoutCloudMetadata(rules: readonly NetworkPolicyEgressRule[]): MetadataCarveOut {
  const refused: string[] = [];
  const egress: NetworkPolicyEgressRule[] = [];
  for (const rule of rules) {
    if (!rule.to || rule.to.length === 0) {
      egress.push({ ...rule, to: [{ namespaceSelector: {} }, ...[anyIPv4, anyIPv6].map((cidr) => carvedBlock({ cidr }))] });
      continue;
    }
    const to: NetworkPolicyPeer[] = [];
    for (const peer of rule.to) {
      if (!peer.ipBlock) {
        to.push(peer);
        continue;
      }
      const cidr = parse(peer.ipBlock.cidr);
      if (cidr && metadataRanges.some((m) => within(cidr, m))) {
        refused.push(peer.ipBlock.cidr);
        continue;
      }
      to.push(carvedBlock(peer.ipBlock, peer));
    }
    if (to.length > 0) egress.push({ ...rule, to });
  }
  return { egress, refused };
}

/** The peer with every metadata range inside its CIDR (and not excepted yet) added to `except`. */
function carvedBlock(block: { cidr: string; except?: string[] }, peer: NetworkPolicyPeer = {}): NetworkPolicyPeer {
  const cidr = parse(block.cidr);
  if (!cidr) return { ...peer, ipBlock: block };
  const except = [...(block.except ?? [])];
  const excepted = except.map(parse).filter((c): c is Cidr => c !== undefined);
  for (const [i, range] of metadataRanges.entries()) {
    if (within(range, cidr) && !excepted.some((e) => within(range, e))) except.push(CLOUD_METADATA_CIDRS[i]!);
  }
  return { ...peer, ipBlock: except.length > 0 ? { cidr: block.cidr, except } : { cidr: block.cidr } };
}
