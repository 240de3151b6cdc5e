// Tests, benchmarks and scripts talk only to this machine and to the cluster they start. This
// guard reads every source file under test/, bench/ and scripts/ and fails on a literal that
// names a place beyond them: a public IPv4 address, a cloud metadata address or a metadata
// host name. Files that only reason about such addresses (policy builders' tests) are listed
// with the reason, and must not open connections themselves.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SCANNED_DIRS = ["test", "bench", "scripts"];
const SOURCE = /\.(ts|mts|js|mjs|cjs|sh|bash|py|ya?ml|toml|conf|patch)$/;

/** Files allowed to name metadata addresses, because they evaluate policies and never connect. */
const REASONS_ONLY: Record<string, string> = {
  "test/unit/controllers/shared/cloud-metadata.test.ts": "checks that NetworkPolicy rules exclude the metadata addresses",
};

// A dotted quad that is not part of a longer dotted string (versions) and not a CIDR.
const IPV4 = /(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.]|\/\d)/g;
const METADATA_ADDRESSES = new Set(["169.254.169.254", "169.254.170.2", "100.100.100.200"]);
const METADATA_NAMES =
  /\b(metadata\.google\.internal|metadata\.goog|instance-data(?:\.ec2\.internal)?|metadata\.azure\.com|fd00:ec2::254(?![\w:/]))/i;
/** This file: its patterns and fixtures name what they look for. */
const SELF = "test/unit/no-off-machine-addresses.test.ts";
// What opening a connection looks like in the languages these files are written in.
const CONNECTS = /\b(fetch\(|create_connection|urlopen|http\.request|https\.request|net\.connect|createConnection|curl |wget |nc )/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "results") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE.test(name)) out.push(path);
  }
  return out;
}

/** Every off-machine literal in `text`, as "line N: what". */
export function offMachineLiterals(text: string): string[] {
  const found: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(IPV4)) {
      const literal = m[1]!;
      if (!ipaddr.IPv4.isValidFourPartDecimal(literal)) continue;
      if (METADATA_ADDRESSES.has(literal)) found.push(`line ${i + 1}: cloud metadata address ${literal}`);
      else if (ipaddr.IPv4.parse(literal).range() === "unicast") found.push(`line ${i + 1}: public address ${literal}`);
    }
    const name = METADATA_NAMES.exec(line);
    if (name) found.push(`line ${i + 1}: metadata name ${name[1]}`);
  });
  return found;
}

describe("no test, benchmark or script names an address beyond this machine", () => {
  const files = SCANNED_DIRS.flatMap((d) => sourceFiles(join(ROOT, d))).map((f) => relative(ROOT, f));

  it("scans the source files under test/, bench/ and scripts/", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("scripts/cluster.sh");
    expect(files).toContain("test/e2e/operator/attacker.test.ts");
  });

  it("finds public addresses, metadata addresses and metadata names, and lets local, private, reserved addresses and CIDRs be", () => {
    const fixture = [
      "socket.create_connection(('1.1.1.1', 443))",
      "fetch('http://169.254.169.254/computeMetadata/v1/')",
      "curl http://100.100.100.200/latest",
      "resolve metadata.google.internal",
      "connect fd00:ec2::254 port 80; except fd00:ec2::254/128",
      "ok: 127.0.0.1 10.96.0.1 192.0.2.2 198.18.100.1 169.254.77.1 0.0.0.0 0.0.0.0/0 169.254.0.0/16 version 1.22.3.4.5",
    ].join("\n");
    expect(offMachineLiterals(fixture)).toEqual([
      "line 1: public address 1.1.1.1",
      "line 2: cloud metadata address 169.254.169.254",
      "line 3: cloud metadata address 100.100.100.200",
      "line 4: metadata name metadata.google.internal",
      "line 5: metadata name fd00:ec2::254",
    ]);
  });

  it("holds for every file", () => {
    const offenders: string[] = [];
    for (const file of files.filter((f) => f !== SELF)) {
      const text = readFileSync(join(ROOT, file), "utf8");
      if (REASONS_ONLY[file]) {
        // Allowed to name them, as long as it never connects anywhere.
        if (CONNECTS.test(text)) offenders.push(`${file}: listed as reasoning only, but opens connections`);
        continue;
      }
      for (const f of offMachineLiterals(text)) offenders.push(`${file} ${f}`);
    }
    expect(offenders).toEqual([]);
  });
});
