// Before any upstream test binary runs, its Go sources are read for places it could connect
// to beyond this machine: URLs and host:port strings naming another host (cloud metadata
// host names included), public IPv4 addresses and cloud metadata addresses (the operator's
// own list). Comments are not code and are not read.
// A finding in a test the plan runs stops the tier; one in a test the plan does not run is
// reported with that test's reason.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ipaddr from "ipaddr.js";
import { CLOUD_METADATA_CIDRS } from "../../src/controllers/shared/cloud-metadata.js";

export interface AuditFinding {
  /** Path relative to the upstream module root. */
  file: string;
  line: number;
  what: string;
  /** The top-level Go test whose body holds the line, when there is one. */
  test: string | undefined;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]", ""]);
const METADATA_V4 = CLOUD_METADATA_CIDRS.map((c) => ipaddr.parseCIDR(c)).filter(([a]) => a.kind() === "ipv4") as [ipaddr.IPv4, number][];
const URL = /\b(?:https?|wss?|grpcs?|tcp):\/\/(\[[^\]]*\]|[^\s"'`/:?#]*)/g;
// "host:port" inside a string literal, e.g. grpc.NewClient("localhost:9090", ...).
const HOST_PORT = /["'`]([A-Za-z0-9.-]+):(\d{2,5})["'`/]/g;
const IPV4 = /(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.]|\/\d)/g;
const TEST_FUNC = /^func ((?:Test|Benchmark)\w*)\(/;

function isLocalHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOCAL_HOSTS.has(h) || h.endsWith(".svc") || h.endsWith(".svc.cluster.local") || h.endsWith(".localhost");
}

/** Findings in one Go source text. */
export function auditGoSource(file: string, text: string): AuditFinding[] {
  const found: AuditFinding[] = [];
  let test: string | undefined;
  text.split("\n").forEach((raw, i) => {
    const fn = TEST_FUNC.exec(raw);
    if (fn) test = fn[1];
    else if (raw.startsWith("func ")) test = undefined;
    const code = stripComment(raw);
    const add = (what: string): void => void found.push({ file, line: i + 1, what, test });
    for (const m of code.matchAll(URL)) if (!isLocalHost(m[1]!)) add(`URL to ${m[1]}`);
    for (const m of code.matchAll(HOST_PORT))
      if (!isLocalHost(m[1]!) && /[A-Za-z]/.test(m[1]!) && m[1]!.includes(".")) add(`address ${m[1]}:${m[2]}`);
    for (const m of code.matchAll(IPV4)) {
      const ip = m[1]!;
      if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) continue;
      const addr = ipaddr.IPv4.parse(ip);
      if (METADATA_V4.some(([net, bits]) => addr.match(net, bits))) add(`cloud metadata address ${ip}`);
      else if (addr.range() === "unicast") add(`public address ${ip}`);
    }
  });
  return found;
}

/** The code part of a Go line: drops a `//` comment that is not inside a string literal. */
export function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === "\\" && quote !== "`") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

/** Findings in every .go file of the given package directories (not their subdirectories). */
export function auditPackages(moduleRoot: string, packageDirs: readonly string[]): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const dir of packageDirs) {
    const abs = join(moduleRoot, dir);
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      if (!name.endsWith(".go") || !statSync(path).isFile()) continue;
      out.push(...auditGoSource(relative(moduleRoot, path), readFileSync(path, "utf8")));
    }
  }
  return out;
}
