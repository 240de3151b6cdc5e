// Upstream's Python client (k8s-agent-sandbox from PyPI) in a cached venv, and a runner for the
// python3 scripts the python-client e2e test writes. Nothing of the client is vendored: pip
// installs the pinned release, the way a user would.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ClusterEnv } from "../harness/cluster.js";

/** The client release this suite proves compatibility with. */
export const PYCLIENT_VERSION = "1.0.8";

const CACHE_ROOT = process.env["SANDBOX_CACHE_DIR"] ?? "/var/cache/agent-sandbox-ts";

/** The venv scripts/setup.sh creates (keyed by version so an upgrade gets a fresh one). */
export const PYCLIENT_VENV = join(CACHE_ROOT, `pyclient-${PYCLIENT_VERSION}`);

const python = join(PYCLIENT_VENV, "bin", "python3");

function importable(): boolean {
  return existsSync(python) && spawnSync(python, ["-c", "import k8s_agent_sandbox"], { stdio: "ignore" }).status === 0;
}

/**
 * The venv's python3, creating the venv with pip when scripts/setup.sh has not yet (an
 * install from the package index, like `pip install k8s-agent-sandbox==<version>`).
 */
export function ensurePyClient(): string {
  if (importable()) return python;
  const steps: Array<[string, string[]]> = [
    ["python3", ["-m", "venv", PYCLIENT_VENV]],
    [join(PYCLIENT_VENV, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", `k8s-agent-sandbox==${PYCLIENT_VERSION}`]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}\n(run bash scripts/setup.sh to create ${PYCLIENT_VENV})`);
  }
  if (!importable()) throw new Error(`k8s_agent_sandbox is not importable from ${PYCLIENT_VENV}`);
  return python;
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON object the script printed on its last stdout line, if any. */
  json: Record<string, unknown> | undefined;
}

/**
 * Runs a script with the venv's python3, kubectl on PATH and KUBECONFIG pointing at the local
 * cluster (the client calls the Kubernetes API for claims and runs `kubectl port-forward`).
 */
export function runPython(env: ClusterEnv, script: string, vars: Record<string, string>, timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, [script], {
      env: {
        ...process.env,
        ...vars,
        PATH: `${dirname(env.kubectl)}:${process.env["PATH"] ?? ""}`,
        KUBECONFIG: env.kubeconfig,
        PYTHONUNBUFFERED: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").pop() ?? "";
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(last) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolvePromise({ code: code ?? -1, stdout, stderr, json });
    });
  });
}
