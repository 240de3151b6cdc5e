// Upstream's Python client (k8s-agent-sandbox, installed from PyPI with pip) works unchanged
// against our operator and router: it creates a SandboxClaim on a warm pool, waits for it
// through the Kubernetes API, then runs commands and moves files through the router, both in
// its default port-forward mode and with a direct URL plus a bearer token.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, type ClusterEnv } from "../harness/cluster.js";
import { EXT_API, agentToken, applyPythonPool, deleteNamespaceAndWait, getJson, routerUrl } from "./helpers.js";
import { ensurePyClient, runPython, type ScriptResult } from "./pyclient.js";

const POOL = "py-pool";

/**
 * What a user of the client writes: create a sandbox from the pool, run commands (one past its
 * `command_timeout`), write/read/list/check files, delete the sandbox. MODE picks the
 * connection: "port-forward" (the client's default) or "direct" (ROUTER_URL + TOKEN as an
 * extra header). Prints one JSON line with what it observed.
 */
const SCENARIO = String.raw`
import base64, json, os, time
from k8s_agent_sandbox import SandboxClient, SandboxRequestError
from k8s_agent_sandbox.models import SandboxDirectConnectionConfig, SandboxLocalTunnelConnectionConfig

ns, pool, mode = os.environ["NS"], os.environ["POOL"], os.environ["MODE"]
if mode == "direct":
    config = SandboxDirectConnectionConfig(
        api_url=os.environ["ROUTER_URL"],
        extra_headers={"Authorization": "Bearer " + os.environ["TOKEN"]},
    )
else:
    config = SandboxLocalTunnelConnectionConfig()

out = {}
with SandboxClient(connection_config=config) as client:
    sandbox = client.create_sandbox(warmpool=pool, namespace=ns, sandbox_ready_timeout=150)
    out["claim"] = sandbox.claim_name
    out["sandbox"] = sandbox.sandbox_id

    out["run"] = sandbox.commands.run("echo hello; echo oops >&2; exit 3").model_dump()
    started = time.monotonic()
    out["timeout"] = sandbox.commands.run("echo before; sleep 30; echo never", command_timeout=2).model_dump()
    out["timeout_elapsed"] = time.monotonic() - started

    payload = b"bytes \x00\xff from python\n"
    sandbox.files.write("py/data.bin", payload)
    sandbox.files.write("py/sub/note.txt", "text")
    out["read_matches"] = sandbox.files.read("py/data.bin") == payload
    out["read"] = base64.b64encode(sandbox.files.read("py/sub/note.txt")).decode()
    out["list"] = sorted([e.name, e.size, e.type] for e in sandbox.files.list("py"))
    out["exists"] = [sandbox.files.exists("py/data.bin"), sandbox.files.exists("py/missing.txt")]
    out["seen_by_shell"] = sandbox.commands.run("cat py/sub/note.txt").stdout

    if mode == "port-forward":
        # Without the netrc file the same client sends no credentials and is refused.
        saved, os.environ["NETRC"] = os.environ["NETRC"], os.path.join(os.path.dirname(os.environ["NETRC"]), "absent")
        try:
            sandbox.commands.run("echo should-not-run")
            out["anonymous_status"] = 200
        except SandboxRequestError as e:
            out["anonymous_status"] = e.status_code
        os.environ["NETRC"] = saved

    if mode == "direct":
        # The router still checks the caller: a wrong token is refused, not proxied.
        bad = SandboxDirectConnectionConfig(api_url=os.environ["ROUTER_URL"], extra_headers={"Authorization": "Bearer not-a-token"})
        intruder = SandboxClient(connection_config=bad).get_sandbox(sandbox.claim_name, namespace=ns)
        try:
            intruder.commands.run("echo should-not-run")
            out["bad_token_status"] = 200
        except SandboxRequestError as e:
            out["bad_token_status"] = e.status_code
        intruder.close_connection()

    client.delete_sandbox(sandbox.claim_name, namespace=ns)
print(json.dumps(out))
`;

describe(`upstream Python client against the router`, () => {
  let env: ClusterEnv;
  let ns: string;
  let token: string;
  let dir: string;
  let script: string;

  beforeAll(async () => {
    ensurePyClient();
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-pyclient");
    // The client only names a warm pool; the pool names the template.
    await applyPythonPool(env, ns, POOL, { replicas: 1, waitReady: false });
    token = await agentToken(env, ns, "py-agent", true);
    dir = await mkdtemp(join(tmpdir(), "agsb-pyclient-"));
    script = join(dir, "scenario.py");
    await writeFile(script, SCENARIO);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  /** The observations every mode must make (the shell, timeout and file contract). */
  async function expectScenario(r: ScriptResult): Promise<void> {
    expect(r.code, `python exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-4000)}`).toBe(0);
    const out = r.json as Record<string, unknown>;
    expect(out["run"]).toEqual({ stdout: "hello\n", stderr: "oops\n", exit_code: 3, timed_out: false });
    expect(out["timeout"]).toMatchObject({
      stdout: "before\n",
      timed_out: true,
      stderr: expect.stringContaining("Command timed out after 2 seconds"),
    });
    expect(out["timeout_elapsed"] as number).toBeLessThan(20);
    expect(out["read_matches"]).toBe(true);
    expect(Buffer.from(out["read"] as string, "base64").toString()).toBe("text");
    expect(out["list"]).toEqual([
      ["data.bin", 21, "file"],
      ["sub", expect.any(Number), "directory"],
    ]);
    expect(out["exists"]).toEqual([true, false]);
    expect(out["seen_by_shell"]).toBe("text");
    // delete_sandbox removed the claim the client created.
    expect(await getJson(env, ns, "sandboxclaim", out["claim"] as string)).toBeUndefined();
  }

  it("port-forward mode (the default): kubectl port-forward to sandbox-router-svc, token from a netrc file", async () => {
    // The client sets no Authorization header in this mode; its HTTP library (requests) sends
    // Basic credentials from the netrc file for 127.0.0.1, and the router reads the token from
    // the password.
    const netrc = join(dir, "netrc");
    await writeFile(netrc, `machine 127.0.0.1 login token password ${token}\n`, { mode: 0o600 });
    const r = await runPython(env, script, { NS: ns, POOL, MODE: "port-forward", NETRC: netrc }, 170_000);
    await expectScenario(r);
    expect((r.json as Record<string, unknown>)["anonymous_status"]).toBe(401);
  });

  it("direct-URL mode with extra_headers carrying a bearer token; a bad token gets 401", async () => {
    const r = await runPython(env, script, { NS: ns, POOL, MODE: "direct", ROUTER_URL: await routerUrl(env), TOKEN: token }, 170_000);
    await expectScenario(r);
    expect((r.json as Record<string, unknown>)["bad_token_status"]).toBe(401);
  });

  it("the router honours X-Sandbox-Timeout as the client sends it (504 once the pod is idle that long)", async () => {
    const claim = "py-timeout";
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxClaim",
        metadata: { name: claim, namespace: ns },
        spec: { warmPoolRef: { name: POOL } },
      }),
    );
    const router = await routerUrl(env);
    const post = (timeout: string): Promise<Response> =>
      fetch(`${router}/execute`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${token}`,
          "X-Sandbox-ID": claim,
          "X-Sandbox-Namespace": ns,
          "X-Sandbox-Port": "8888",
          "X-Sandbox-Timeout": timeout,
        },
        body: JSON.stringify({ command: "sleep 6; echo late" }),
        signal: AbortSignal.timeout(60_000),
      });
    // The router waits for the claim to be Ready (503 + Retry-After until then).
    let first = await post("30");
    for (let i = 0; first.status === 503 && i < 60; i++) {
      await new Promise((r) => setTimeout(r, 2_000));
      first = await post("30");
    }
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ stdout: "late\n", exit_code: 0 });
    const started = Date.now();
    const cut = await post("1.5");
    expect(cut.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(5_500);
  });
});
