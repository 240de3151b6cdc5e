// Hostile code inside a sandbox, under gVisor on the real cluster: a memory bomb, an endless
// print loop, a busy loop past its timeout, thousands of open files, filling /tmp, /dev/shm,
// the workspace and the root filesystem, and a fork bomb. Each is contained: the call gets a
// clear error (or bounded output that says it was cut), the server and the other contexts
// keep working (or the sandbox restarts and says so), a second sandbox answers throughout,
// and the node stays healthy.
import { readFileSync, statfsSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, kubectlOk, waitFor, type ClusterEnv } from "../harness/cluster.js";
import {
  agentToken,
  deleteNamespaceAndWait,
  getJson,
  list,
  OPERATOR_NS,
  routerUrl,
  sandboxManifest,
  waitReady,
  type KObject,
} from "./helpers.js";

interface Answer {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  error?: { name?: string; message?: string; code?: string };
  results?: { mimeType: string; data: string }[];
  context?: { id: string; stateLost: boolean; restartReason?: string };
  outputTruncated?: { limitBytes: number; droppedBytes: number };
}

interface Call {
  status: number;
  body: Answer;
  ms: number;
}

interface PodJson extends KObject {
  status?: KObject["status"] & { reason?: string; message?: string; initContainerStatuses?: { name: string; restartCount: number }[] };
}

const GiB = 1024 ** 3;
/** The operator's defaults (src/config/operator-config.ts) and execd's (src/execd/config.ts). */
const TMP_LIMIT = 256 * 1024 * 1024;
const SHM_LIMIT = 64 * 1024 * 1024;
const WORKSPACE_LIMIT = 2 * GiB;
const OUTPUT_LIMIT = 16 * 1024 * 1024;

// Writes `limit` bytes to `path` in 4 MiB chunks; prints how far it got and why it stopped.
const fillScript = (path: string, limit: number, keep: boolean): string => `
import os
chunk = b"x" * (4 * 1024 * 1024)
written = 0
try:
    with open(${JSON.stringify(path)}, "wb") as f:
        while written < ${limit}:
            f.write(chunk)
            written += len(chunk)
        f.flush()
        os.fsync(f.fileno())
    print("wrote", written)
except OSError as e:
    print("stopped", written, e.errno, e.strerror)
finally:
    if not ${keep ? "True" : "False"}:
        try:
            os.remove(${JSON.stringify(path)})
        except OSError:
            pass
`;

describe("hostile code in a sandbox is contained (gVisor, real cluster)", () => {
  let env: ClusterEnv;
  let ns: string;
  let router: string;
  let token: string;

  /** POST /v1/execute through the router; never throws on HTTP errors or a dropped connection. */
  const run = async (sandbox: string, code: string, extra: Record<string, unknown> = {}, timeoutMs = 150_000): Promise<Call> => {
    const started = Date.now();
    try {
      const res = await fetch(`${router}/sandboxes/${ns}/${sandbox}/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ code, language: "python", ...extra }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let body: Answer;
      try {
        body = JSON.parse(text) as Answer;
      } catch {
        body = { error: { message: text.slice(0, 500) } };
      }
      return { status: res.status, body, ms: Date.now() - started };
    } catch (error) {
      return { status: -1, body: { error: { message: (error as Error).message } }, ms: Date.now() - started };
    }
  };

  const runOk = async (sandbox: string, code: string, extra: Record<string, unknown> = {}): Promise<Answer> => {
    const r = await run(sandbox, code, extra);
    if (r.status !== 200) throw new Error(`execute in ${sandbox} failed: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    return r.body;
  };

  /**
   * Calls the bystander sandbox over and over while a bomb goes off next door. Every call
   * must answer; the figures go to the test log.
   */
  const watchBystander = (): { stop(): Promise<{ calls: number; failures: string[]; maxMs: number }> } => {
    let running = true;
    const failures: string[] = [];
    let calls = 0;
    let maxMs = 0;
    const loop = (async () => {
      while (running) {
        const r = await run("bystander", `print(${calls} * 2)`, {}, 60_000);
        calls++;
        maxMs = Math.max(maxMs, r.ms);
        if (r.status !== 200 || r.body.stdout?.trim() !== String((calls - 1) * 2))
          failures.push(`HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return { calls, failures, maxMs };
      },
    };
  };

  /** The node as the kubelet and the host see it. The cluster runs on this machine. */
  const nodeHealth = async (): Promise<{
    conditions: Record<string, string>;
    memAvailableGiB: number;
    diskAvailGiB: number;
    load1: number;
  }> => {
    const node = JSON.parse(await kubectlOk(env, ["get", "nodes", "-o", "json"])) as {
      items: { status: { conditions: { type: string; status: string }[] } }[];
    };
    const conditions = Object.fromEntries((node.items[0]?.status.conditions ?? []).map((c) => [c.type, c.status]));
    const meminfo = readFileSync("/proc/meminfo", "utf8");
    const memAvailableGiB = Number(/^MemAvailable:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / (1024 * 1024);
    const fs = statfsSync("/var/lib");
    const diskAvailGiB = (fs.bavail * fs.bsize) / GiB;
    const load1 = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
    return { conditions, memAvailableGiB, diskAvailGiB, load1 };
  };

  const expectNodeHealthy = async (): Promise<void> => {
    const health = await nodeHealth();
    console.log(`[containment] node: ${JSON.stringify(health)}`);
    expect(health.conditions).toMatchObject({ Ready: "True", MemoryPressure: "False", DiskPressure: "False", PIDPressure: "False" });
    expect(health.memAvailableGiB).toBeGreaterThan(1);
    expect(health.diskAvailGiB).toBeGreaterThan(2);
    // The cluster's own pods are untouched: CoreDNS and the router still Ready.
    const ready = (pods: KObject[]): number =>
      pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
    expect(ready(await list(env, "kube-system", "pod", "k8s-app=kube-dns"))).toBeGreaterThan(0);
    expect(ready(await list(env, OPERATOR_NS, "pod", "app=sandbox-router"))).toBeGreaterThan(0);
  };

  const restarts = async (sandbox: string): Promise<number> => {
    const pod = (await getJson<PodJson>(env, ns, "pod", sandbox)) as PodJson;
    // The execution server is a native sidecar, so it reports among the init containers.
    const execd = pod.status?.initContainerStatuses?.find((c) => c.name === "sandbox-execd");
    if (!execd) throw new Error(`pod ${sandbox} reports no sandbox-execd init container status`);
    return execd.restartCount;
  };

  /** Runs a bomb in `sandbox` while watching the bystander; returns the call and the watch. */
  const detonate = async (sandbox: string, code: string, extra: Record<string, unknown> = {}): Promise<Call> => {
    const watch = watchBystander();
    const call = await run(sandbox, code, extra);
    // Keep watching a little after the call: a restart or eviction next door happens now.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const seen = await watch.stop();
    console.log(
      `[containment] ${sandbox}: HTTP ${call.status} in ${call.ms} ms: ${JSON.stringify({ ...call.body, stdout: call.body.stdout?.slice(-300) }).slice(0, 600)}`,
    );
    console.log(`[containment] bystander: ${seen.calls} calls during, ${seen.failures.length} failed, slowest ${seen.maxMs} ms`);
    expect(seen.failures, "the bystander sandbox kept answering").toEqual([]);
    expect(seen.calls).toBeGreaterThan(0);
    return call;
  };

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "bomb-contain");
    for (const name of ["victim", "bystander"]) await apply(env, sandboxManifest({ name, namespace: ns, image: env.runtimeImage }));
    token = await agentToken(env, ns, "agent", true);
    await Promise.all([waitReady(env, ns, "sandbox", "victim"), waitReady(env, ns, "sandbox", "bystander")]);
    router = await routerUrl(env);
    // A second context in the victim with state of its own: it must outlive the bombs.
    const created = await fetch(`${router}/sandboxes/${ns}/victim/v1/contexts`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ language: "python", id: "other" }),
    });
    expect(created.status).toBe(201);
    await runOk("victim", "precious = 'kept'", { context: "other" });
    await runOk("victim", "mine = 'default kept'");
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  afterEach(async () => {
    if (env && ns && router) await expectNodeHealthy();
  });

  /**
   * The second context with its state, created again when a bomb before restarted the whole
   * sandbox (the /dev/shm test does), for the tests that expect it to outlive theirs.
   */
  const ensureOtherContext = async (): Promise<void> => {
    const created = await fetch(`${router}/sandboxes/${ns}/victim/v1/contexts`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ language: "python", id: "other" }),
    });
    expect([201, 409]).toContain(created.status);
    if (created.status === 201) await runOk("victim", "precious = 'kept'", { context: "other" });
  };

  const otherContextIntact = async (): Promise<void> => {
    expect((await runOk("victim", "precious", { context: "other" })).results?.[0]?.data).toBe("'kept'");
  };

  it("memory bomb: a MemoryError in the call; the interpreter, its state and the other context survive", async () => {
    const before = await restarts("victim");
    const call = await detonate("victim", "hog = []\nwhile True:\n    hog.append(bytearray(64 * 1024 * 1024))");
    expect(call.status).toBe(200);
    expect(call.body.error?.name).toBe("MemoryError");
    expect(call.body.context?.stateLost).toBe(false);
    expect((await runOk("victim", "del hog\nmine")).results?.[0]?.data).toBe("'default kept'");
    await otherContextIntact();
    expect(await restarts("victim")).toBe(before);
  });

  it("endless print loop: bounded output with a truncation marker, ended by its timeout", async () => {
    const call = await detonate("victim", "while True:\n    print('spam' * 250_000)", { timeoutMs: 20_000 });
    expect(call.status).toBe(200);
    expect(call.body.error?.name).toBe("TimeoutError");
    expect(call.body.outputTruncated?.limitBytes).toBe(OUTPUT_LIMIT);
    expect(call.body.outputTruncated?.droppedBytes).toBeGreaterThan(0);
    expect(call.body.stdout).toContain("[execd: output truncated");
    expect(Buffer.byteLength(call.body.stdout ?? "")).toBeLessThan(OUTPUT_LIMIT + 1024);
    await otherContextIntact();
    expect((await runOk("victim", "print('after the flood')")).stdout).toBe("after the flood\n");
  });

  it("busy loop past its timeout: TimeoutError, the interpreter is replaced and says so; the other context keeps its state", async () => {
    const call = await detonate("victim", "while True:\n    pass", { timeoutMs: 5000 });
    expect(call.status).toBe(200);
    expect(call.body.exitCode).toBe(124);
    expect(call.body.error?.name).toBe("TimeoutError");
    expect(call.body.context?.stateLost).toBe(true);
    expect(call.body.context?.restartReason).toContain("timeout of 5000 ms");
    expect((await runOk("victim", "'mine' in globals()")).results?.[0]?.data).toBe("False");
    await otherContextIntact();
  });

  it("thousands of open files: EMFILE inside the call; thousands of workspace files are fine; the server carries on", async () => {
    const code = [
      "import os, resource",
      "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)",
      "held = []",
      "try:",
      "    while True:",
      "        held.append(open('/dev/null'))",
      "except OSError as e:",
      "    print('stopped', len(held), e.errno, soft, hard)",
      "for f in held: f.close()",
      "os.makedirs('many', exist_ok=True)",
      "for i in range(3000):",
      "    with open(f'many/{i}.txt', 'w') as f: f.write('x')",
      "print('files', len(os.listdir('many')))",
    ].join("\n");
    const call = await detonate("victim", code);
    expect(call.status).toBe(200);
    const stopped = /stopped (\d+) (\d+) (\d+) (\d+)/.exec(call.body.stdout ?? "");
    expect(stopped, call.body.stdout).not.toBeNull();
    const [, held, errno, soft] = stopped!.map(Number);
    expect(errno).toBe(24); // EMFILE
    expect(held).toBeGreaterThan(1000);
    expect(held).toBeLessThanOrEqual(soft!);
    expect(call.body.stdout).toContain("files 3000");
    // The server's own descriptors are its own: it still lists, reads and runs.
    const listing = await fetch(`${router}/sandboxes/${ns}/victim/v1/files/many`, { headers: { authorization: `Bearer ${token}` } });
    expect(listing.status).toBe(200);
    expect(((await listing.json()) as { entries: unknown[] }).entries).toHaveLength(3000);
    await runOk("victim", "import shutil\nshutil.rmtree('many')");
    await otherContextIntact();
  });

  it("orphaned processes are reaped (the server runs under an init as the container's PID 1): no zombies pile up", async () => {
    const code = [
      "import os, time",
      "for i in range(50):",
      "    if os.fork() == 0:",
      "        if os.fork() == 0:",
      "            time.sleep(0.2)",
      "            os._exit(0)",
      "        os._exit(0)",
      "    os.wait()",
      "time.sleep(2)",
      "zombies = 0",
      "for p in os.listdir('/proc'):",
      "    if p.isdigit():",
      "        try:",
      "            stat = open(f'/proc/{p}/stat').read()",
      "        except OSError:",
      "            continue",
      "        zombies += stat[stat.rfind(')') + 2] == 'Z'",
      "print(open('/proc/1/comm').read().strip(), zombies)",
    ].join("\n");
    const out = await runOk("victim", code);
    expect(out.stdout?.trim()).toBe("bash 0");
    await otherContextIntact();
  });

  it("filling /tmp: ENOSPC at its size (a memory-backed emptyDir), nothing restarted", async () => {
    const before = await restarts("victim");
    const call = await detonate("victim", fillScript("/tmp/fill", 4 * GiB, false));
    expect(call.status).toBe(200);
    const [, written, errno] = /stopped (\d+) (\d+)/.exec(call.body.stdout ?? "")?.map(Number) ?? [];
    expect(errno, call.body.stdout).toBe(28); // ENOSPC
    expect(written).toBeLessThanOrEqual(TMP_LIMIT);
    expect(await restarts("victim")).toBe(before);
    await otherContextIntact();
  });

  it("filling /dev/shm: ENOSPC at its size (a memory tmpfs the pod's containers share), nothing restarted", async () => {
    const before = await restarts("victim");
    const call = await detonate("victim", fillScript("/dev/shm/fill", 4 * GiB, false), { timeoutMs: 60_000 });
    expect(call.status).toBe(200);
    const [, written, errno] = /stopped (\d+) (\d+)/.exec(call.body.stdout ?? "")?.map(Number) ?? [];
    expect(errno, call.body.stdout).toBe(28); // ENOSPC
    expect(written).toBeLessThanOrEqual(SHM_LIMIT);
    expect(await restarts("victim")).toBe(before);
    await otherContextIntact();
    // The same /dev/shm as the template's container: one tmpfs for the pod, of that size.
    const sizes = await runOk("victim", "import os\ns = os.statvfs('/dev/shm')\ns.f_blocks * s.f_frsize");
    expect(Number(sizes.results?.[0]?.data)).toBe(SHM_LIMIT);
    const main = await kubectlOk(env, ["-n", ns, "exec", "victim", "-c", "main", "--", "df", "-B1", "--output=size", "/dev/shm"]);
    expect(main.trim().split("\n").pop()?.trim()).toBe(String(SHM_LIMIT));
  });

  it("fork bomb: ProcessLimitError in the call, its context restarted; the sandbox, the other context and the task count recover", async () => {
    await ensureOtherContext();
    const before = await restarts("victim");
    const tasks = async (): Promise<number> =>
      Number(
        (await runOk("victim", "open('/sys/fs/cgroup/pids/pids.current').read()", { context: "other" })).results?.[0]?.data?.replaceAll(
          /\D/g,
          "",
        ),
      );
    const tasksBefore = await tasks();
    const fork = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass";
    const call = await detonate("victim", fork, { timeoutMs: 60_000 });
    expect(call.status).toBe(200);
    expect(call.body.error?.name).toBe("ProcessLimitError");
    // Stopped at the task limit, or earlier when the sandbox's memory (what earlier tests left in
    // it included) reaches the point where new processes are refused.
    expect(call.body.error?.message).toMatch(
      /limit of \d+ processes and threads|neared its memory limit .* while this context ran \d+ processes/,
    );
    expect(call.body.context?.stateLost).toBe(true);
    // While the bomb ran, the server may have missed a health check or two; it is back at once.
    const readyAgain = Date.now();
    await waitReady(env, ns, "sandbox", "victim", 60_000);
    console.log(`[containment] fork bomb: the sandbox was Ready again ${Date.now() - readyAgain} ms after the call answered`);
    expect(await restarts("victim")).toBe(before);
    await otherContextIntact();
    await waitFor(async () => (await tasks()) <= tasksBefore + 4, 30_000, "the bomb's tasks to be gone");
    expect((await runOk("victim", "1 + 1")).results?.[0]?.data).toBe("2");
  });

  it("contexts that together outgrow the sandbox: the one holding the most is stopped, the sandbox stays up", async () => {
    await ensureOtherContext();
    const before = await restarts("victim");
    // Each stays under its own cap (75% of the sandbox's memory); together they pass it.
    const total = Number((await runOk("victim", "import os\nos.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')")).results?.[0]?.data);
    const share = Math.floor((total * 0.5) / (1024 * 1024));
    const created = await fetch(`${router}/sandboxes/${ns}/victim/v1/contexts`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ language: "python", id: "hog" }),
    });
    expect(created.status).toBe(201);
    await runOk("victim", `hoard = b'h' * (${share + 64} * 1024 * 1024)`, { context: "hog" });
    // Grows the way a program filling a cache does, a slice at a time.
    const grow = `import time\ngrown = []\nfor _ in range(${share} // 32):\n    grown.append(b'g' * (32 * 1024 * 1024))\n    time.sleep(0.02)\nsum(map(len, grown)) // (1024 * 1024)`;
    const grower = await detonate("victim", grow);
    expect(grower.status).toBe(200);
    console.log(`[containment] two contexts of ${share + 64} and ${share} MiB in ${Math.round(total / 1024 / 1024)} MiB`);
    expect(grower.body.error ?? null).toBeNull();
    expect(grower.body.results?.[0]?.data).toBe(String(Math.floor(share / 32) * 32));
    const hog = await runOk("victim", "'hoard' in globals()", { context: "hog" });
    expect(hog.results?.[0]?.data).toBe("False");
    expect(hog.context?.stateLost).toBe(true);
    expect(hog.context?.restartReason).toMatch(/past its limit of \d+ MiB; this context held the most/);
    await runOk("victim", "del grown");
    expect(await restarts("victim")).toBe(before);
    await otherContextIntact();
  });

  it("filling the workspace: ENOSPC at its size (a tmpfs gVisor keeps on disk), nothing restarted or evicted, files kept", async () => {
    await runOk("victim", "open('/workspace/notes.txt', 'w').write('written before the fill')");
    const before = await restarts("victim");
    const podUid = (await getJson<PodJson>(env, ns, "pod", "victim"))?.metadata?.uid;
    // Bounded at 3 GiB so the test cannot fill the node; the workspace holds 2 GiB.
    const call = await detonate("victim", fillScript("/workspace/fill", 3 * GiB, false), { timeoutMs: 120_000 });
    expect(call.status).toBe(200);
    const [, written, errno] = /stopped (\d+) (\d+)/.exec(call.body.stdout ?? "")?.map(Number) ?? [];
    expect(errno, call.body.stdout).toBe(28); // ENOSPC
    expect(written).toBeLessThanOrEqual(WORKSPACE_LIMIT);
    expect(written).toBeGreaterThan(WORKSPACE_LIMIT - 64 * 1024 * 1024);
    // Long enough for the kubelet to have measured the volume at least once more.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const pod = await getJson<PodJson>(env, ns, "pod", "victim");
    expect(pod?.metadata?.uid).toBe(podUid);
    expect(pod?.status?.phase).toBe("Running");
    expect(await restarts("victim")).toBe(before);
    const notes = await runOk("victim", "open('/workspace/notes.txt').read()");
    expect(notes.results?.[0]?.data).toBe("'written before the fill'");
    await otherContextIntact();
  });

  it("filling the root filesystem past the ephemeral-storage limit: the kubelet evicts the pod, the Sandbox gets a new one and says why", async () => {
    await apply(env, sandboxManifest({ name: "rootfs", namespace: ns, image: env.runtimeImage }));
    await waitReady(env, ns, "sandbox", "rootfs");
    const evictedUid = (await getJson<PodJson>(env, ns, "pod", "rootfs"))?.metadata?.uid;
    const call = await detonate("rootfs", fillScript("/var/tmp/fill", 3 * GiB, true) + "\nimport time\ntime.sleep(60)", {
      timeoutMs: 90_000,
    });
    console.log(`[containment] rootfs fill answer: HTTP ${call.status}`);
    const evictedAt = Date.now();
    // The operator replaces the evicted pod (no sooner than 30 s after that pod was created).
    await waitFor(
      async () => {
        const pod = await getJson<PodJson>(env, ns, "pod", "rootfs");
        return pod !== undefined && pod.metadata?.uid !== evictedUid;
      },
      120_000,
      "a new pod for the rootfs Sandbox",
    );
    await waitReady(env, ns, "sandbox", "rootfs", 120_000);
    console.log(`[containment] rootfs: the Sandbox was Ready on a new pod ${Date.now() - evictedAt} ms after the fill call answered`);
    const events = await list(env, ns, "event");
    const replaced = events.find((e) => (e as KObject & { reason?: string }).reason === "PodReplaced");
    expect(JSON.stringify(replaced)).toMatch(/Evicted/);
    let first: Call | undefined;
    await waitFor(
      async () => {
        first = await run("rootfs", "1 + 1");
        return first.status === 200;
      },
      60_000,
      "the new pod to answer",
    );
    expect(first?.body.results?.[0]?.data).toBe("2");
    expect(first?.body.context?.stateLost).toBe(true);
    expect(first?.body.context?.restartReason).toMatch(
      /pod was replaced after the previous one ended \(.*Evicted.*ephemeral local storage/,
    );
    expect(first?.body.context?.restartReason).toMatch(/\/workspace starts empty/);
  });
});
