#!/usr/bin/env python3
"""Reads `iptables-save -t TABLE` and prints iptables-restore --noflush input that removes the
local cluster's chains: KUBE-*, AGSB-* (NetworkPolicy and the egress guard), and the CNI-* chains that rules commented with our
CNI network name jump to, plus every rule in other chains that jumps to one of them.

usage: iptables-save -t nat | iptables-cleanup.py nat agent-sandbox | iptables-restore --noflush
"""
import re
import shlex
import sys


def main():
    table, net = sys.argv[1], sys.argv[2]
    lines = sys.stdin.read().splitlines()
    declared = [l[1:].split()[0] for l in lines if l.startswith(":")]
    rules = [l for l in lines if l.startswith("-A ")]
    # iptables-save prints the comment as --comment "name: \\"NET\\" id: ..."
    ours_comment = re.compile(r'name: \\\\?"' + re.escape(net) + r'\\\\?"')
    doomed = {c for c in declared if c.startswith(("KUBE-", "AGSB-"))}
    for rule in rules:
        if ours_comment.search(rule):
            m = re.search(r"-j (CNI-\S+)", rule)
            if m and not m.group(1).startswith("CNI-HOSTPORT-"):
                doomed.add(m.group(1))
    if not doomed:
        return
    out = [f"*{table}"]
    for rule in rules:
        chain = rule.split()[1]
        if chain in doomed:
            continue  # flushed below
        try:
            words = shlex.split(rule)
        except ValueError:
            continue
        target = words[words.index("-j") + 1] if "-j" in words else None
        if target in doomed:
            out.append("-D " + rule[3:])
    out += [f"-F {c}" for c in sorted(doomed)]
    out += [f"-X {c}" for c in sorted(doomed)]
    out.append("COMMIT")
    print("\n".join(out))


if __name__ == "__main__":
    main()
