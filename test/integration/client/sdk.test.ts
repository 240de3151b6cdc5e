// The SDK end to end: through the router with a URL and a token, and in Kubernetes mode with a
// kubeconfig, against the real API server and operator (execution servers as in
// test/integration/router/router-fixture.ts: real sandbox-execd processes, simulated pod network).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExecutionError,
  ForbiddenError,
  SandboxClient,
  SandboxNotFoundError,
  SandboxNotReadyError,
  TimeoutError,
  UnauthorizedError,
  createSandbox,
  type Sandbox,
} from "../../../src/index.js";
import type { Kube } from "../../../src/runtime/index.js";
import { poolManifest, startOperator, templateManifest, type RunningOperator } from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userKubeConfig, userToken, waitFor } from "../harness/cluster.js";
import { poolReady, type Obj } from "../router/helpers.js";
import { grantSandboxSuspend, grantSandboxUser, SimulatedPodNetwork, startRouter, type RunningRouter } from "../router/router-fixture.js";

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let client: SandboxClient;

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("sdk");
  await grantSandboxUser(kube, ns, "alice");
  await grantSandboxSuspend(kube, ns, "alice");
  await kube.create(templateManifest(ns, "python"));
  await kube.create(poolManifest(ns, "python-pool", "python", 1));
  await poolReady(kube, ns, "python-pool", 1);
  await waitFor(() => router.router.caches.pools.get(ns, "python-pool"), { message: "router sees the pool" });
  client = new SandboxClient({ routerUrl: router.url, token: userToken("alice"), namespace: ns });
});

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

/** A Sandbox's spec.operatingMode, read from the API server. */
async function operatingModeOf(name: string): Promise<unknown> {
  return (await kube.get<Obj>({ apiVersion: "agents.x-k8s.io/v1beta1", kind: "Sandbox", namespace: ns, name })).spec?.["operatingMode"];
}

describe("through the router", () => {
  let sb: Sandbox;

  it("creates a sandbox from a warm pool and returns once it is Ready", async () => {
    sb = await client.createSandbox({ warmPool: "python-pool", ttlSeconds: 900, labels: { suite: "sdk" } });
    expect(sb.info.state).toBe("running");
    expect(sb.namespace).toBe(ns);
    expect(sb.accessToken).toBeTruthy();
  });

  it("runs stateful code with input files, streams stdout, and returns output files", async () => {
    const first = await sb.run("lines = open('input.txt').read().splitlines()\nprint(len(lines))", {
      files: [{ name: "input.txt", content: "one\ntwo\nthree\n" }],
    });
    expect(first.stdout).toBe("3\n");
    const chunks: string[] = [];
    const second = await sb.run(
      "for l in lines:\n    print(l.upper(), flush=True)\nopen('output.txt', 'w').write(','.join(lines))\nlen(lines) * 10",
      { onStdout: (t) => chunks.push(t) },
    );
    expect(chunks.join("")).toBe("ONE\nTWO\nTHREE\n");
    expect(second.results).toEqual([{ mimeType: "text/plain", data: "30" }]);
    expect(second.outputFiles.find((f) => f.name === "output.txt")?.content.toString()).toBe("one,two,three");
  });

  it("runs JavaScript in its own context", async () => {
    const r = await sb.run("const xs = [1, 2, 3]; xs.map((x) => x * 2).join('-')", { language: "javascript", context: "js" });
    expect(r.results[0]?.data).toContain("2-4-6");
  });

  it("raises ExecutionError with the traceback, or returns it when asked", async () => {
    const err = await sb.run("def f():\n    return 1 / 0\nf()").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    const e = err as ExecutionError;
    expect(e.errorName).toBe("ZeroDivisionError");
    expect(e.traceback).toContain("in f");
    const returned = await sb.run("raise ValueError('bad')", { throwOnError: false });
    expect(returned.error?.name).toBe("ValueError");
    // State survived the errors.
    expect((await sb.run("print(len(lines))")).stdout).toBe("3\n");
  });

  it("raises TimeoutError when the code runs past its timeout", async () => {
    await expect(sb.run("import time\ntime.sleep(30)", { timeoutMs: 500, context: "slow" })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("reads, writes, lists and removes files, and runs shell commands", async () => {
    await sb.files.write("data/notes.txt", "hello files");
    expect(await sb.files.readText("data/notes.txt")).toBe("hello files");
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    await sb.files.write("data/blob.bin", binary);
    expect(Buffer.compare(await sb.files.read("data/blob.bin"), binary)).toBe(0);
    const entries = await sb.files.list("data");
    expect(entries.map((e) => e.name)).toEqual(["blob.bin", "notes.txt"]);
    expect(entries.find((e) => e.name === "blob.bin")).toMatchObject({ type: "file", size: 5 });
    const cmd = await sb.commands.run("cat data/notes.txt | tr a-z A-Z && exit 3");
    expect(cmd).toEqual({ stdout: "HELLO FILES", stderr: "", exitCode: 3 });
    await sb.files.remove("data", { recursive: true });
    expect(await sb.files.exists("data/notes.txt")).toBe(false);
    await expect(sb.files.read("data/notes.txt")).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("hands the sandbox to another agent with its access token, which reaches nothing else", async () => {
    const agent = new SandboxClient({ routerUrl: router.url, token: sb.accessToken ?? "", namespace: ns });
    const same = agent.connect(sb.id);
    expect((await same.run("print(len(lines))")).stdout).toBe("3\n");
    await expect(agent.listSandboxes()).rejects.toBeInstanceOf(ForbiddenError);
    await expect(agent.createSandbox({ warmPool: "python-pool" })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("lists sandboxes and pools", async () => {
    const list = await client.listSandboxes({ labels: { suite: "sdk" } });
    expect(list.sandboxes.map((s) => s.id)).toContain(sb.id);
    const pools = await client.listWarmPools();
    expect(pools.map((p) => p.name)).toContain("python-pool");
  });

  it("throws typed errors: unknown sandbox, other user, bad token", async () => {
    await expect(client.getSandbox("sbx-does-not-exist")).rejects.toBeInstanceOf(SandboxNotFoundError);
    const bob = new SandboxClient({ routerUrl: router.url, token: userToken("bob"), namespace: ns });
    await expect(bob.getSandbox(sb.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(bob.connect(sb.id).run("1")).rejects.toBeInstanceOf(ForbiddenError);
    const nobody = new SandboxClient({ routerUrl: router.url, token: "garbage", namespace: ns });
    await expect(nobody.connect(sb.id).run("1")).rejects.toBeInstanceOf(UnauthorizedError);
    expect(() => new SandboxClient({ routerUrl: "not a url", token: "x" })).toThrow(/not a valid URL/);
  });

  it("suspends and resumes the sandbox: the Sandbox's operating mode is written, and a new pod runs code", async () => {
    const operatingMode = () => operatingModeOf(sb.info.sandboxName ?? "");
    const podIP = sb.info.podIPs?.[0] ?? "";
    const suspended = await sb.suspend();
    expect(suspended).toMatchObject({ id: sb.id, state: "suspended" });
    expect(sb.info.state).toBe("suspended");
    expect(await operatingMode()).toBe("Suspended");
    await expect(sb.run("1")).rejects.toBeInstanceOf(SandboxNotReadyError);
    expect((await client.suspendSandbox(sb.id)).state).toBe("suspended");
    // Stands in for the old pod's end on the simulated pod network.
    await router.network.retire(ns, sb.info.sandboxName ?? "", podIP);

    const bob = new SandboxClient({ routerUrl: router.url, token: userToken("bob"), namespace: ns });
    await expect(bob.resumeSandbox(sb.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(client.resumeSandbox("sbx-does-not-exist")).rejects.toBeInstanceOf(SandboxNotFoundError);

    await sb.resume();
    expect(await operatingMode()).toBe("Running");
    await waitFor(async () => (await sb.refresh()).state === "running", { timeoutMs: 60_000, message: "running again" });
    expect((await sb.run("print(6 * 7)")).stdout).toBe("42\n");
  });

  it("deletes the sandbox", async () => {
    await sb.delete();
    await waitFor(async () => (await client.getSandbox(sb.id).catch((e: unknown) => e)) instanceof SandboxNotFoundError, {
      message: "sandbox gone",
    });
  });

  it("also works as a one-call createSandbox", async () => {
    const one = await createSandbox({ warmPool: "python-pool", routerUrl: router.url, token: userToken("alice"), namespace: ns });
    expect((await one.run("6 * 7")).results[0]?.data).toBe("42");
    await one.delete();
  });
});

describe("in Kubernetes mode (kubeconfig, straight to the pod)", () => {
  let network: SimulatedPodNetwork;
  beforeAll(() => {
    network = new SimulatedPodNetwork();
  });
  afterAll(async () => {
    await network?.stop();
  });

  it("creates a claim, waits with a watch, runs code with a token the router issues, and deletes; nobody reads a Secret", async () => {
    const kc = new SandboxClient({
      kubeConfig: userKubeConfig("alice"),
      namespace: ns,
      mapAddress: network.map,
      tokenIssuerUrl: router.url,
    });
    expect(kc.mode).toBe("kubernetes");
    const sb = await kc.createSandbox({ warmPool: "python-pool", ttlSeconds: 600 });
    expect(sb.info.state).toBe("running");
    expect((await sb.run("import sys\nprint(sys.version_info[0])")).stdout).toBe("3\n");
    await sb.files.write("k.txt", "direct");
    expect(await sb.files.readText("k.txt")).toBe("direct");
    const listed = await kc.listSandboxes({ state: "running" });
    expect(listed.sandboxes.map((s) => s.id)).toContain(sb.id);
    // alice was granted no access to Secrets at all (grantSandboxUser), and direct mode needs none.
    const denied = await kube.request<{ status: { allowed: boolean } }>("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: "alice", resourceAttributes: { namespace: ns, verb: "get", resource: "secrets" } },
      },
    });
    expect(denied.status.allowed).toBe(false);
    await sb.delete();
    await expect(kc.getSandbox("nope")).rejects.toBeInstanceOf(SandboxNotFoundError);
    const bob = new SandboxClient({ kubeConfig: userKubeConfig("bob"), namespace: ns });
    await expect(bob.createSandbox({ warmPool: "python-pool" })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("suspends and resumes with the kubeconfig's own permission (patch on the Sandbox)", async () => {
    const kc = new SandboxClient({
      kubeConfig: userKubeConfig("alice"),
      namespace: ns,
      mapAddress: network.map,
      tokenIssuerUrl: router.url,
    });
    const sb = await kc.createSandbox({ warmPool: "python-pool", ttlSeconds: 600 });
    try {
      expect((await sb.suspend()).state).toBe("suspended");
      expect(await operatingModeOf(sb.info.sandboxName ?? "")).toBe("Suspended");
      const bob = new SandboxClient({ kubeConfig: userKubeConfig("bob"), namespace: ns });
      await expect(bob.resumeSandbox(sb.id)).rejects.toBeInstanceOf(ForbiddenError);
      await kc.resumeSandbox(sb.id);
      expect(await operatingModeOf(sb.info.sandboxName ?? "")).toBe("Running");
      await expect(kc.suspendSandbox("sbx-does-not-exist")).rejects.toBeInstanceOf(SandboxNotFoundError);
    } finally {
      await sb.delete();
    }
  });

  it("is refused a token by the router for a sandbox its caller may not run code in, and says what it lacks without the router", async () => {
    const owner = new SandboxClient({
      kubeConfig: userKubeConfig("alice"),
      namespace: ns,
      mapAddress: network.map,
      tokenIssuerUrl: router.url,
    });
    const sb = await owner.createSandbox({ warmPool: "python-pool", ttlSeconds: 600 });
    try {
      const bob = new SandboxClient({
        kubeConfig: userKubeConfig("bob"),
        namespace: ns,
        mapAddress: network.map,
        tokenIssuerUrl: router.url,
      });
      await expect(bob.connect(sb.id).run("1")).rejects.toBeInstanceOf(ForbiddenError);
      const noIssuer = new SandboxClient({ kubeConfig: userKubeConfig("alice"), namespace: ns, mapAddress: network.map });
      await expect(noIssuer.connect(sb.id).run("1")).rejects.toThrow(/tokenIssuerUrl/);
    } finally {
      await sb.delete();
    }
  });
});
