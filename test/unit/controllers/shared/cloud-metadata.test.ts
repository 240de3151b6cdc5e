import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { CLOUD_METADATA_CIDRS, withoutCloudMetadata } from "../../../../src/controllers/shared/cloud-metadata.js";
import type { NetworkPolicyEgressRule } from "../../../../src/controllers/shared/network-policy.js";
import { desiredTemplatePolicy } from "../../../../src/controllers/sandbox-template/reconciler.js";
import { makeTemplate, testConfig } from "../fixtures.js";

// Addresses where clouds serve credentials, and the edges of the ranges they sit in.
const metadataAddresses = ["169.254.169.254", "169.254.170.2", "169.254.0.0", "169.254.255.255", "100.100.100.200", "fd00:ec2::254"];
// Addresses a broad egress rule must still allow (documentation and private ranges only).
const ordinaryAddresses = ["203.0.113.7", "10.1.2.3", "192.168.4.5", "100.100.100.201", "169.253.255.255", "169.255.0.0", "2001:db8::1"];

/**
 * NetworkPolicy's egress semantics for a destination outside the cluster's pods: a rule
 * with no peers allows every address; an ipBlock allows its CIDR minus its excepts; pod and
 * namespace selectors match pods only.
 */
function allows(rules: readonly NetworkPolicyEgressRule[], address: string): boolean {
  const addr = ipaddr.parse(address);
  const inCidr = (cidr: string): boolean => {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    return net.kind() === addr.kind() && addr.match([net, bits] as never);
  };
  return rules.some((rule) => {
    if (!rule.to || rule.to.length === 0) return true;
    return rule.to.some((peer) => peer.ipBlock !== undefined && inCidr(peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some(inCidr));
  });
}

describe("withoutCloudMetadata", () => {
  it("adds the metadata ranges as except entries to egress to 0.0.0.0/0 and ::/0, and only those", () => {
    const { egress, refused } = withoutCloudMetadata([{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }] }]);
    expect(refused).toEqual([]);
    expect(egress).toEqual([
      {
        to: [
          { ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16", "100.100.100.200/32"] } },
          { ipBlock: { cidr: "::/0", except: ["fd00:ec2::254/128"] } },
        ],
      },
    ]);
    for (const a of metadataAddresses) expect(allows(egress, a), a).toBe(false);
    for (const a of ordinaryAddresses) expect(allows(egress, a), a).toBe(true);
  });

  it("spells out a rule without peers (every destination) as all pods plus every address but the metadata ranges, keeping its ports", () => {
    const { egress } = withoutCloudMetadata([{ ports: [{ protocol: "TCP", port: 443 }] }, { to: [] }]);
    const everything = [
      { namespaceSelector: {} },
      { ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16", "100.100.100.200/32"] } },
      { ipBlock: { cidr: "::/0", except: ["fd00:ec2::254/128"] } },
    ];
    expect(egress).toEqual([{ ports: [{ protocol: "TCP", port: 443 }], to: everything }, { to: everything }]);
    for (const a of metadataAddresses) expect(allows(egress, a), a).toBe(false);
  });

  it("removes an ipBlock inside a metadata range, and the whole rule when nothing else is left in it", () => {
    const { egress, refused } = withoutCloudMetadata([
      { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
      { to: [{ ipBlock: { cidr: "100.100.100.200/32" } }, { podSelector: { matchLabels: { app: "db" } } }] },
      { to: [{ ipBlock: { cidr: "169.254.0.0/16" } }] },
    ]);
    expect(refused).toEqual(["169.254.169.254/32", "100.100.100.200/32", "169.254.0.0/16"]);
    // A rule emptied of peers must not survive as `to: []`, which would allow everything.
    expect(egress).toEqual([{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }]);
  });

  it("keeps rules that never reach a metadata range as they are, and an except that already covers one", () => {
    const rules: NetworkPolicyEgressRule[] = [
      {
        to: [{ ipBlock: { cidr: "10.0.0.0/8" } }, { namespaceSelector: { matchLabels: { team: "x" } } }],
        ports: [{ protocol: "UDP", port: 53 }],
      },
      { to: [{ ipBlock: { cidr: "169.0.0.0/8", except: ["169.254.0.0/15"] } }] },
    ];
    expect(withoutCloudMetadata(rules)).toEqual({ egress: rules, refused: [] });
  });

  it("never lets any egress rule allow a metadata address, for arbitrary CIDRs and excepts", () => {
    const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, bits]) => ipaddr.parseCIDR(`${a}/${bits}`));
    const anchored = fc.constantFrom(
      "0.0.0.0/0",
      "128.0.0.0/1",
      "169.0.0.0/8",
      "169.254.0.0/16",
      "169.254.169.0/24",
      "100.64.0.0/10",
      "100.100.100.200/32",
      "::/0",
      "fd00::/8",
      "fd00:ec2::254/128",
    );
    // Normalise to the network address, as the API server requires.
    const cidr = fc.oneof(
      anchored,
      v4.map(([a, bits]) => `${ipaddr.IPv4.networkAddressFromCIDR(`${a.toString()}/${bits}`).toString()}/${bits}`),
    );
    const peer = fc.oneof(
      fc.record({ ipBlock: fc.record({ cidr, except: fc.array(cidr, { maxLength: 2 }) }) }),
      fc.constant({ namespaceSelector: {} }),
    );
    const rule = fc.record({ to: fc.option(fc.array(peer, { maxLength: 3 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 4 }), (rules) => {
        const { egress } = withoutCloudMetadata(rules);
        for (const a of metadataAddresses) if (allows(egress, a)) return false;
        return true;
      }),
      { seed: 1405, numRuns: 2000 },
    );
    // The excepts added are strict subsets of their CIDR, as the API server requires.
    const plainRule = fc.record({ to: fc.array(fc.record({ ipBlock: fc.record({ cidr }) }), { minLength: 1, maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(plainRule, { maxLength: 4 }), (rules) =>
        withoutCloudMetadata(rules).egress.every((r) =>
          (r.to ?? []).every(
            (p) => !p.ipBlock || (p.ipBlock.except ?? []).every((e) => ipaddr.parseCIDR(e)[1] > ipaddr.parseCIDR(p.ipBlock!.cidr)[1]),
          ),
        ),
      ),
      { seed: 1406, numRuns: 1000 },
    );
    // Thousands of generated cases: about 2 s on an idle machine, several times that while the
    // machine is busy building; the limit only guards against a hang.
  }, 60_000);

  it("lists the ranges GKE's guidance names", () => {
    expect([...CLOUD_METADATA_CIDRS]).toEqual(["169.254.0.0/16", "100.100.100.200/32", "fd00:ec2::254/128"]);
  });
});

describe("a template that allows egress to the internet", () => {
  it("gets a NetworkPolicy whose allow rules exclude every cloud metadata address", () => {
    const template = makeTemplate({
      networkPolicy: { egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }, { ports: [{ protocol: "TCP", port: 443 }] }] },
    });
    const { policy, refusedEgress } = desiredTemplatePolicy(template, { config: testConfig });
    expect(refusedEgress).toEqual([]);
    expect(policy.spec.egress.length).toBe(2);
    for (const a of metadataAddresses) expect(allows(policy.spec.egress, a), a).toBe(false);
    for (const a of ordinaryAddresses) expect(allows(policy.spec.egress, a), a).toBe(true);
  });

  it("reports the metadata CIDRs it asked for and left out", () => {
    const template = makeTemplate({
      networkPolicy: { egress: [{ to: [{ ipBlock: { cidr: "169.254.169.254/32" } }, { ipBlock: { cidr: "10.0.0.0/8" } }] }] },
    });
    const { policy, refusedEgress } = desiredTemplatePolicy(template, { config: testConfig });
    expect(refusedEgress).toEqual(["169.254.169.254/32"]);
    expect(policy.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }]);
  });
});
