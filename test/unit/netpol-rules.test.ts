import type { V1NetworkPolicy } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { FORWARD_CHAIN, INPUT_CHAIN, buildRestore, type NamespaceView, type PodView } from "../../scripts/lib/cluster/netpol/rules.js";
import { selectorMatches } from "../../scripts/lib/cluster/netpol/selectors.js";

const pod = (name: string, ip: string, labels: Record<string, string>, ns = "a"): PodView => ({
  namespace: ns,
  name,
  ip,
  labels,
  namedPorts: [{ name: "http", port: 8080, protocol: "TCP" }],
});
const policy = (name: string, spec: V1NetworkPolicy["spec"], ns = "a"): V1NetworkPolicy => ({ metadata: { name, namespace: ns }, spec });
const namespaces: NamespaceView[] = [
  { name: "a", labels: { "kubernetes.io/metadata.name": "a" } },
  { name: "b", labels: { "kubernetes.io/metadata.name": "b", team: "x" } },
];

describe("label selectors", () => {
  it("applies matchLabels and every expression operator", () => {
    const labels = { app: "web", tier: "front" };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "web" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "db" } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["front", "x"] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "Exists" }] }, labels)).toBe(false);
    // A malformed operator fails closed.
    expect(selectorMatches({ matchExpressions: [{ key: "app", operator: "Bogus" }] }, labels)).toBe(false);
  });
});

describe("iptables rules for NetworkPolicy", () => {
  const server = pod("server", "10.244.0.2", { app: "server" });
  const client = pod("client", "10.244.0.3", { role: "client" });
  const other = pod("other", "10.244.0.4", {}, "b");

  it("leaves pods no policy selects unfiltered", () => {
    const { text, chains } = buildRestore([server, client], namespaces, [], new Set());
    expect([...chains].sort()).toEqual([FORWARD_CHAIN, INPUT_CHAIN].sort());
    expect(text).not.toContain("-j DROP");
  });

  it("deny-all isolates both directions and drops what no rule marks", () => {
    const denyAll = policy("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const { text } = buildRestore([server, client, other], namespaces, [denyAll], new Set());
    expect(text).toContain(`-A ${FORWARD_CHAIN} -s 10.244.0.2/32 -j AGSB-NP-E0`);
    expect(text).toContain(`-A ${FORWARD_CHAIN} -d 10.244.0.2/32 -j AGSB-NP-I1`);
    expect(text).toContain(`-A ${INPUT_CHAIN} -s 10.244.0.2/32 -j AGSB-NP-E0`);
    expect(text).toContain("-A AGSB-NP-E0 -m mark ! --mark 0x10000/0x10000 -j DROP");
    // The pod in namespace b is not selected by a policy of namespace a.
    expect(text).not.toContain("10.244.0.4/32 -j");
    expect(text).not.toMatch(/--set-xmark 0x[12]0000\/0x[12]0000$/m);
  });

  it("reads ingress peers from raw watch JSON (`from`) as well as from client-node models (`_from`)", () => {
    // Watch events are raw JSON; a rule read without its peers would admit every source.
    const raw = JSON.parse(
      JSON.stringify({
        metadata: { name: "raw", namespace: "a" },
        spec: {
          podSelector: { matchLabels: { app: "server" } },
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: 8080 }] }],
        },
      }),
    ) as V1NetworkPolicy;
    const { text } = buildRestore([server, client, other], namespaces, [raw], new Set());
    expect(text).toMatch(/-A AGSB-NP-I\d+ -s 10\.244\.0\.3\/32 -p tcp -m tcp --dport 8080 -j MARK/);
    expect(text).not.toMatch(/-A AGSB-NP-I\d+ -p tcp -m tcp --dport 8080 -j MARK/);
  });

  it("allows a labelled peer on a named port resolved against the destination pod", () => {
    const allow = policy("allow", {
      podSelector: { matchLabels: { app: "server" } },
      ingress: [{ _from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: "http" }] }],
    });
    const { text } = buildRestore([server, client], namespaces, [allow], new Set());
    expect(text).toContain("-A AGSB-NP-I0 -s 10.244.0.3/32 -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x20000/0x20000");
    expect(text).not.toContain("-s 10.244.0.2/32 -p tcp");
  });

  it("selects peers by namespace and handles ipBlock exceptions in a sub-chain", () => {
    const allow = policy("allow", {
      podSelector: { matchLabels: { app: "server" } },
      policyTypes: ["Egress"],
      egress: [
        { to: [{ namespaceSelector: { matchLabels: { team: "x" } } }] },
        { to: [{ ipBlock: { cidr: "192.0.2.0/24", except: ["192.0.2.1/32"] } }], ports: [{ protocol: "UDP", port: 53 }] },
      ],
    });
    const { text } = buildRestore([server, client, other], namespaces, [allow], new Set());
    expect(text).toContain("-A AGSB-NP-E0 -d 10.244.0.4/32 -j MARK --set-xmark 0x10000/0x10000");
    expect(text).not.toContain("-A AGSB-NP-E0 -d 10.244.0.3/32");
    expect(text).toContain("-A AGSB-NP-E0 -d 192.0.2.0/24 -j AGSB-NP-X1");
    expect(text).toContain("-A AGSB-NP-X1 -d 192.0.2.1/32 -j RETURN");
    expect(text).toContain("-A AGSB-NP-X1 -p udp -m udp --dport 53 -j MARK --set-xmark 0x10000/0x10000");
  });

  it("leaves IPv6 blocks out of the IPv4 rule set (they match no traffic here) and keeps the IPv4 ones", () => {
    const allow = policy("allow", {
      podSelector: { matchLabels: { app: "server" } },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            { ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16"] } },
            { ipBlock: { cidr: "::/0", except: ["fd00:ec2::254/128"] } },
          ],
        },
      ],
    });
    const { text } = buildRestore([server], namespaces, [allow], new Set());
    expect(text).not.toContain("::");
    expect(text).toContain("-A AGSB-NP-E0 -d 0.0.0.0/0 -j AGSB-NP-X1");
    expect(text).toContain("-A AGSB-NP-X1 -d 169.254.0.0/16 -j RETURN");
    expect(text).toContain("-A AGSB-NP-E0 -m mark ! --mark 0x10000/0x10000 -j DROP");
  });

  it("resolves a named port of a peerless egress rule against every destination pod that has it", () => {
    // Kubernetes' "should allow egress access on one named port": egress to any address on "http".
    const noHttp: PodView = { ...pod("plain", "10.244.0.5", {}), namedPorts: [] };
    const allow = policy("allow-egress", {
      podSelector: { matchLabels: { role: "client" } },
      policyTypes: ["Egress"],
      egress: [{ ports: [{ port: "http" }, { port: 53, protocol: "UDP" }] }],
    });
    const { text } = buildRestore([server, client, other, noHttp], namespaces, [allow], new Set());
    expect(text).toContain("-A AGSB-NP-E0 -p udp -m udp --dport 53 -j MARK --set-xmark 0x10000/0x10000");
    for (const ip of ["10.244.0.2", "10.244.0.3", "10.244.0.4"]) {
      expect(text).toContain(`-A AGSB-NP-E0 -d ${ip}/32 -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x10000/0x10000`);
    }
    expect(text).not.toContain("-d 10.244.0.5/32");
    // No rule of the chain admits every destination on every port.
    expect(text).not.toContain("-A AGSB-NP-E0 -j MARK");
  });

  it("limits a named egress port in an ipBlock rule to the pods inside the block and outside its exceptions", () => {
    const allow = policy("allow-egress", {
      podSelector: { matchLabels: { role: "client" } },
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "10.244.0.0/24", except: ["10.244.0.4/32"] } }], ports: [{ port: "http" }] }],
    });
    const { text } = buildRestore([server, client, other], namespaces, [allow], new Set());
    expect(text).toContain("-A AGSB-NP-E0 -d 10.244.0.2/32 -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x10000/0x10000");
    expect(text).not.toContain("-d 10.244.0.4/32");
    // With no numbered port left, the block itself admits nothing more.
    expect(text).not.toContain("-d 10.244.0.0/24");
  });

  it("deletes chains of an earlier sync that are no longer needed", () => {
    const { text } = buildRestore([server], namespaces, [], new Set(["AGSB-NP-I7", FORWARD_CHAIN]));
    expect(text).toContain(":AGSB-NP-I7 - [0:0]");
    expect(text).toContain("-X AGSB-NP-I7");
    expect(text).not.toContain(`-X ${FORWARD_CHAIN}`);
  });
});
