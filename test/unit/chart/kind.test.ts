// scripts/kind-up.sh cannot run here (no Docker); these checks keep it and kind-config.yaml
// consistent with each other and with the chart, and its argument handling honest.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO } from "./helm.js";

const script = join(REPO, "scripts/kind-up.sh");
const run = (args: string[]) => spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, PATH: "/usr/bin:/bin" } });

interface KindConfig {
  kind: string;
  apiVersion: string;
  name: string;
  nodes: Array<{ role: string; extraPortMappings?: Array<{ containerPort: number; hostPort: number }> }>;
}

describe("Kind cluster recipe", () => {
  it("is valid bash", () => {
    const r = spawnSync("bash", ["-n", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("explains itself with --help and names a wrong argument", () => {
    const help = run(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--install");
    expect(help.stdout).toContain("--no-smoke-test");
    const bad = run(["--instal"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("unknown argument '--instal'");
  });

  it("maps the router NodePort that the script installs the chart with", () => {
    const cfg = parse(readFileSync(join(REPO, "kind-config.yaml"), "utf8")) as KindConfig;
    expect(cfg.kind).toBe("Cluster");
    expect(cfg.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
    const text = readFileSync(script, "utf8");
    expect(text).toContain(`NAME="\${KIND_CLUSTER_NAME:-${cfg.name}}"`);
    const nodePort = /router\.service\.nodePort=(\d+)/.exec(text)?.[1];
    const mapping = cfg.nodes.flatMap((n) => n.extraPortMappings ?? []).find((m) => String(m.containerPort) === nodePort);
    expect(mapping, `kind-config.yaml maps no containerPort ${nodePort}`).toBeDefined();
    expect(cfg.nodes.some((n) => n.role === "worker")).toBe(true);
  });

  it("registers the same handler name in containerd as the RuntimeClass names, and the chart's default class", () => {
    const text = readFileSync(script, "utf8");
    expect(text).toMatch(/containerd\.runtimes\.runsc\]\n\s+runtime_type = "io\.containerd\.runsc\.v1"/);
    expect(text).toMatch(/kind: RuntimeClass\nmetadata:\n\s+name: gvisor\nhandler: runsc/);
    const values = parse(readFileSync(join(REPO, "charts/agent-sandbox/values.yaml"), "utf8")) as {
      sandboxDefaults: { runtimeClassName: string };
    };
    expect(values.sandboxDefaults.runtimeClassName).toBe("gvisor");
  });
});
