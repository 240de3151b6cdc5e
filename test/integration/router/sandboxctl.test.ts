// sandboxctl as users run it: the built binary (tsc -p tsconfig.build.json, as `npm run build`
// does) as a child process against the router, the real API server and the operator, checking
// its output and exit codes. Execution servers as in router-fixture.ts.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { poolManifest, startOperator, templateManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { clusterInfo, freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { buildSandboxctl, sandboxctlBuildDir } from "./build-sandboxctl.js";
import { poolReady, type Obj } from "./helpers.js";
import { grantSandboxSuspend, grantSandboxUser, startRouter, type RunningRouter } from "./router-fixture.js";

const BUILD_DIR = sandboxctlBuildDir("sandboxctl-test-build");
const BIN = path.join(BUILD_DIR, "cli/main.js");

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let tmp: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sandboxctl(args: string[], opts: { input?: string; env?: Record<string, string>; token?: string | null } = {}): Promise<Run> {
  const token = opts.token === undefined ? userToken("alice") : opts.token;
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: tmp,
    SANDBOX_ROUTER_URL: router.url,
    ...(token ? { SANDBOX_TOKEN: token } : {}),
    ...opts.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined); // EPIPE when the CLI exits before reading; its exit code tells
    child.stdin.end(opts.input ?? "");
  });
}

beforeAll(async () => {
  await buildSandboxctl(BUILD_DIR);
  tmp = await mkdtemp(path.join(os.tmpdir(), "sandboxctl-"));
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("sandboxctl");
  await grantSandboxUser(kube, ns, "alice");
  await grantSandboxSuspend(kube, ns, "alice");
  await kube.create(templateManifest(ns, "python"));
  await kube.create(poolManifest(ns, "python-pool", "python", 1));
  // A template whose pods never schedule (no toleration for the fake node), for timeouts.
  await kube.create(templateManifest(ns, "stuck", { podTemplate: { spec: { containers: [{ name: "main", image: "x" }] } } }));
  await kube.create(poolManifest(ns, "stuck-pool", "stuck", 0));
  await poolReady(kube, ns, "python-pool", 1);
  await waitFor(() => router.router.caches.pools.get(ns, "stuck-pool") && router.router.caches.pools.get(ns, "python-pool"), {
    message: "router sees the pools",
  });
}, 300_000);

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

describe("sandboxctl", () => {
  let id = "";

  it("prints help with examples and exit codes (exit 0), and rejects bad usage (exit 2)", async () => {
    const help = await sandboxctl(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("Exit codes:");
    expect((await sandboxctl(["create", "--bogus"])).code).toBe(2);
    const neither = await sandboxctl(["-n", ns, "create"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("exactly one of --warm-pool or --template");
    expect((await sandboxctl(["-n", ns, "list", "--state", "sleepy"])).code).toBe(2);
  });

  it("creates a sandbox and prints only its id with -q (no progress output when not a terminal)", async () => {
    const r = await sandboxctl(["-n", ns, "create", "--warm-pool", "python-pool", "--ttl", "900", "-l", "suite=cli", "-q"]);
    expect(r.code).toBe(0);
    id = r.stdout.trim();
    expect(id).toMatch(/^sbx-[0-9a-f]{10}$/);
    expect(r.stderr).toBe("");
  });

  it("execs code from an argument, stdin and a file; state persists; output streams to stdout", async () => {
    const first = await sandboxctl(["-n", ns, "exec", id, "x = 21\nprint('set')"]);
    expect(first).toMatchObject({ code: 0, stdout: "set\n" });
    const fromStdin = await sandboxctl(["-n", ns, "exec", id, "-"], { input: "print(x * 2)\n" });
    expect(fromStdin).toMatchObject({ code: 0, stdout: "42\n" });
    const file = path.join(tmp, "code.js");
    await writeFile(file, "const words = ['a', 'b']; console.log(words.join('+'))");
    const fromFile = await sandboxctl(["-n", ns, "exec", id, "--language", "javascript", "--context", "js", "--file", file]);
    expect(fromFile).toMatchObject({ code: 0, stdout: "a+b\n" });
    const expr = await sandboxctl(["-n", ns, "exec", id, "x + 1"]);
    expect(expr.stdout).toBe("22\n");
  });

  it("exits 6 with the traceback on stderr when the code raises, and for a failing shell command", async () => {
    const raised = await sandboxctl(["-n", ns, "exec", id, "def f():\n    raise KeyError('missing')\nf()"]);
    expect(raised.code).toBe(6);
    expect(raised.stderr).toContain("KeyError");
    expect(raised.stderr).toContain("in f");
    const shell = await sandboxctl(["-n", ns, "exec", id, "--shell", "echo out; echo err >&2; exit 3"]);
    expect(shell.code).toBe(6);
    expect(shell.stdout).toBe("out\n");
    expect(shell.stderr).toContain("err\n");
    expect(shell.stderr).toContain("command exited with 3");
    const ok = await sandboxctl(["-n", ns, "exec", id, "--shell", "echo hi | tr a-z A-Z"]);
    expect(ok).toMatchObject({ code: 0, stdout: "HI\n" });
  });

  it("exits 5 when the code runs past --timeout", async () => {
    const r = await sandboxctl(["-n", ns, "exec", id, "--context", "slow", "--timeout", "1", "import time\ntime.sleep(30)"]);
    expect(r.code).toBe(5);
  });

  it("copies files in and out (and to stdout); a missing file exits 3", async () => {
    const local = path.join(tmp, "in.csv");
    await writeFile(local, "a,b\n1,2\n");
    expect((await sandboxctl(["-n", ns, "cp", local, `${id}:data/in.csv`])).code).toBe(0);
    const count = await sandboxctl(["-n", ns, "exec", id, "print(len(open('data/in.csv').read().splitlines()))"]);
    expect(count.stdout).toBe("2\n");
    const out = path.join(tmp, "out", "copy.csv");
    expect((await sandboxctl(["-n", ns, "cp", `${id}:data/in.csv`, out])).code).toBe(0);
    expect(await readFile(out, "utf8")).toBe("a,b\n1,2\n");
    const toStdout = await sandboxctl(["-n", ns, "cp", `${id}:data/in.csv`, "-"]);
    expect(toStdout.stdout).toBe("a,b\n1,2\n");
    expect((await sandboxctl(["-n", ns, "cp", `${id}:nope.txt`, out])).code).toBe(3);
    expect((await sandboxctl(["-n", ns, "cp", local, out])).code).toBe(2);
  });

  it("gets and lists in table, json and yaml", async () => {
    const table = await sandboxctl(["-n", ns, "get", id]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+STATE\s+WARM POOL/);
    expect(table.stdout).toContain(id);
    const json = JSON.parse((await sandboxctl(["-n", ns, "get", id, "-o", "json"])).stdout) as { id: string; state: string };
    expect(json).toMatchObject({ id, state: "running" });
    const yaml = parseYaml((await sandboxctl(["-n", ns, "-o", "yaml", "get", id])).stdout) as { id: string };
    expect(yaml.id).toBe(id);
    const list = JSON.parse((await sandboxctl(["-n", ns, "list", "-l", "suite=cli", "-o", "json"])).stdout) as {
      sandboxes: Array<{ id: string }>;
    };
    expect(list.sandboxes.map((s) => s.id)).toEqual([id]);
  });

  it("lists and scales warm pools", async () => {
    const pools = JSON.parse((await sandboxctl(["-n", ns, "pools", "list", "-o", "json"])).stdout) as {
      warmPools: Array<{ name: string }>;
    };
    expect(pools.warmPools.map((p) => p.name)).toEqual(["python-pool", "stuck-pool"]);
    const scaled = await sandboxctl(["-n", ns, "pools", "scale", "python-pool", "--replicas", "2"]);
    expect(scaled.code).toBe(0);
    await poolReady(kube, ns, "python-pool", 2);
  });

  it("exits 4 for a bad token or another user's sandbox, 3 for an unknown one", async () => {
    expect((await sandboxctl(["-n", ns, "get", id], { token: "garbage" })).code).toBe(4);
    const bob = await sandboxctl(["-n", ns, "exec", id, "1"], { token: userToken("bob") });
    expect(bob.code).toBe(4);
    expect(bob.stderr).toContain("bob");
    expect((await sandboxctl(["-n", ns, "get", "sbx-unknown"])).code).toBe(3);
    expect((await sandboxctl(["-n", ns, "get", id], { token: null })).code).toBe(2);
  });

  it("exits 5 when a sandbox is not Ready within --timeout", async () => {
    const r = await sandboxctl(["-n", ns, "create", "--warm-pool", "stuck-pool", "--timeout", "2", "-q"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("not Ready within");
  });

  it("works in Kubernetes mode with a kubeconfig", async () => {
    const kubeconfig = clusterInfo().users["alice"]?.kubeconfig ?? "";
    const list = await sandboxctl(["--kubeconfig", kubeconfig, "-n", ns, "list", "-l", "suite=cli", "-o", "json"], {
      env: { SANDBOX_ROUTER_URL: "" },
      token: null,
    });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { sandboxes: Array<{ id: string }> }).sandboxes.map((s) => s.id)).toEqual([id]);
    const bob = await sandboxctl(["--kubeconfig", clusterInfo().users["bob"]?.kubeconfig ?? "", "-n", ns, "list"], {
      env: { SANDBOX_ROUTER_URL: "" },
      token: null,
    });
    expect(bob.code).toBe(4);
  });

  it("suspends and resumes (the Sandbox's operating mode, read back); exit 3 unknown, 4 not allowed", async () => {
    const { sandboxName } = JSON.parse((await sandboxctl(["-n", ns, "get", id, "-o", "json"])).stdout) as { sandboxName: string };
    const operatingMode = async () => {
      const sandbox = await kube.get<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name: sandboxName });
      return sandbox.spec?.["operatingMode"];
    };
    const suspended = await sandboxctl(["-n", ns, "suspend", id]);
    expect(suspended).toMatchObject({ code: 0, stdout: `sandbox ${id} suspended\n` });
    expect(await operatingMode()).toBe("Suspended");
    const again = JSON.parse((await sandboxctl(["-n", ns, "suspend", id, "-o", "json"])).stdout) as {
      sandboxes: Array<{ id: string; state: string }>;
    };
    expect(again.sandboxes).toMatchObject([{ id, state: "suspended" }]);
    expect((await sandboxctl(["-n", ns, "resume", id], { token: userToken("bob") })).code).toBe(4);
    expect((await sandboxctl(["-n", ns, "resume", "sbx-unknown"])).code).toBe(3);
    const resumed = await sandboxctl(["-n", ns, "resume", id]);
    expect(resumed).toMatchObject({ code: 0, stdout: `sandbox ${id} resumed\n` });
    expect(await operatingMode()).toBe("Running");
  });

  it("deletes; the sandbox is then gone (exit 3)", async () => {
    const del = await sandboxctl(["-n", ns, "delete", id]);
    expect(del).toMatchObject({ code: 0, stdout: `sandbox ${id} deleted\n` });
    await waitFor(async () => (await sandboxctl(["-n", ns, "get", id])).code === 3, { message: "deleted" });
  });
});
