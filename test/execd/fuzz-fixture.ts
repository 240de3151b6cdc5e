// Shared set-up for the execution server's property-based tests: a workspace with escape
// hatches planted by user code, a sentinel directory beside it that must never be read or
// written, and a check that nothing outside the workspace changed.
import { createHash, randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { expect } from "vitest";
import { startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";
import { jsonOf, rawRequest, type RawResponse } from "./raw-http.js";

export const FUZZ_TOKEN = "fuzz-token-0123456789";
/** A small --max-bytes keeps "beyond the limit" cheap to send. */
export const FUZZ_MAX_BYTES = 64 * 1024;

/**
 * Symlinks user code plants in the workspace (name -> target). `escapes` marks those whose
 * target is outside the workspace; a path through one of them must always be refused.
 */
export interface Plant {
  target: string;
  escapes: boolean;
}

export interface FuzzWorld {
  execd: ExecdProcess;
  port: number;
  root: string;
  workspace: string;
  sentinel: string;
  tmp: string;
  /**
   * Strings that exist only outside the workspace and that no request ever names: the
   * sentinel's file content and the name of a file in its subdirectory. Any answer holding
   * one of them read or listed something outside.
   */
  secrets: string[];
  /** Name of the sentinel's top-level file (requests do name this one). */
  secretName: string;
  plants: Record<string, Plant>;
  /** The state outside the workspace when the server was warm. */
  baseline: Map<string, string>;
  stop(): Promise<void>;
}

/**
 * Layout: root/{workspace, sentinel, tmp}. The server's TMPDIR is root/tmp, so its scratch
 * directory (spilled uploads, bash cells) is inside root and covered by the outside check.
 */
export async function startFuzzWorld(): Promise<FuzzWorld> {
  const root = await mkdtemp(path.join(os.tmpdir(), "execd-fuzz-"));
  const workspace = path.join(root, "workspace");
  const sentinel = path.join(root, "sentinel");
  const tmp = path.join(root, "tmp");
  await Promise.all([mkdir(workspace), mkdir(path.join(sentinel, "sub"), { recursive: true }), mkdir(tmp)]);
  const tag = randomBytes(6).toString("hex");
  const secretName = `secret-${tag}.txt`;
  const secretContent = `SENTINEL-CONTENT-${tag}`;
  const innerName = `inner-${tag}.txt`;
  await Promise.all([
    writeFile(path.join(sentinel, secretName), secretContent),
    writeFile(path.join(sentinel, "sub", innerName), secretContent),
  ]);
  const plants: Record<string, Plant> = {
    "escape-dir": { target: "../sentinel", escapes: true },
    "escape-file": { target: path.join(sentinel, secretName), escapes: true },
    dangling: { target: "../sentinel/not-yet", escapes: true },
    "root-link": { target: "/", escapes: true },
    "tmp-link": { target: tmp, escapes: true },
    "inside/via-link": { target: "../escape-dir", escapes: true },
    "loop-a": { target: "loop-b", escapes: true },
    "loop-b": { target: "loop-a", escapes: true },
    "ok-link": { target: "inside", escapes: false },
  };
  const execd = await startExecd({
    token: FUZZ_TOKEN,
    workspace,
    env: { TMPDIR: tmp },
    args: ["--max-bytes", String(FUZZ_MAX_BYTES), "--prewarm", "python"],
  });
  // The escape hatches are made by user code, as an attacker inside the sandbox would.
  const code = [
    "import os",
    "os.makedirs('inside/deeper', exist_ok=True)",
    "open('inside/file.txt', 'w').write('inside')",
    ...Object.entries(plants).map(([name, p]) => `os.symlink(${JSON.stringify(p.target)}, ${JSON.stringify(name)})`),
    "os.mkfifo('fifo')",
    "print('planted')",
  ].join("\n");
  const planted = await execd.post<ExecuteAnswer>("/v1/execute", { code });
  expect(planted.body.stdout, JSON.stringify(planted.body)).toContain("planted");
  const world: FuzzWorld = {
    execd,
    port: Number(new URL(execd.url).port),
    root,
    workspace,
    sentinel,
    tmp,
    secrets: [secretContent, innerName],
    secretName,
    plants,
    baseline: new Map(),
    async stop() {
      await execd.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
  world.baseline = await outsideState(world);
  return world;
}

/**
 * Puts the planted links, the fifo and the `inside` tree back if a fuzzed DELETE or PUT
 * replaced them, so every generated input meets the same workspace.
 */
export async function restorePlants(world: FuzzWorld): Promise<void> {
  const ws = world.workspace;
  const inside = await lstat(path.join(ws, "inside")).catch(() => null);
  if (!inside?.isDirectory()) {
    await rm(path.join(ws, "inside"), { recursive: true, force: true });
    await mkdir(path.join(ws, "inside", "deeper"), { recursive: true });
  }
  for (const [name, plant] of Object.entries(world.plants)) {
    const at = path.join(ws, name);
    const current = await readlink(at).catch(() => null);
    if (current === plant.target) continue;
    await rm(at, { recursive: true, force: true });
    await symlink(plant.target, at);
  }
  const fifo = await lstat(path.join(ws, "fifo")).catch(() => null);
  if (!fifo?.isFIFO()) {
    await rm(path.join(ws, "fifo"), { recursive: true, force: true });
    execFileSync("mkfifo", [path.join(ws, "fifo")]);
  }
}

/**
 * Everything under root except the workspace: path -> type, size, content hash, mtime.
 * tsx's compile cache in TMPDIR belongs to the test launcher, not the server, and directory
 * mtimes change with transient scratch files, so neither is compared.
 */
export async function outsideState(world: FuzzWorld): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(world.root, full);
      if (full === world.workspace || /^tmp\/tsx-/.test(rel)) continue;
      const stats = await lstat(full);
      if (stats.isDirectory()) {
        state.set(rel, "dir");
        await walk(full);
      } else if (stats.isFile()) {
        const hash = createHash("sha256")
          .update(await readFile(full))
          .digest("hex");
        state.set(rel, `file:${stats.size}:${hash}:${stats.mtimeMs}`);
      } else state.set(rel, stats.isSymbolicLink() ? `link:${await readlink(full)}` : "other");
    }
  };
  await walk(world.root);
  return state;
}

/**
 * Asserts nothing outside the workspace was created, changed or removed. Cleanup of scratch
 * files may finish just after a response is sent, so a difference must persist for 3 s.
 */
export async function expectOutsideUntouched(world: FuzzWorld, context = ""): Promise<void> {
  let diff: string[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    diff = diffStates(world.baseline, await outsideState(world));
    if (diff.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(diff, `outside the workspace changed ${context}`).toEqual([]);
}

export function diffStates(before: Map<string, string>, after: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [key, value] of after) if (before.get(key) !== value) diff.push(`${before.has(key) ? "changed" : "new"}: ${key}`);
  for (const key of before.keys()) if (!after.has(key)) diff.push(`removed: ${key}`);
  return diff;
}

export const auth: [string, string] = ["Authorization", `Bearer ${FUZZ_TOKEN}`];

/** The server is alive: its health endpoint answers and it still runs `1+1`. */
export async function expectServerHealthy(world: FuzzWorld): Promise<void> {
  expect(world.execd.child.exitCode, world.execd.logs.slice(-20).join("\n")).toBeNull();
  const health = await rawRequest(world.port, { method: "GET", target: "/" });
  expect(health.status).toBe(200);
  expect(jsonOf(health)).toEqual({ status: "ok", message: "Sandbox Runtime is active." });
  const run = await world.execd.post<ExecuteAnswer>("/v1/execute", { code: "1+1" });
  expect(run.status).toBe(200);
  expect(run.body.results).toEqual([{ mimeType: "text/plain", data: "2" }]);
}

/** The message of an error answer: ours is {error: {code, message}}, upstream's {message}. */
export function errorMessage(res: RawResponse): string | undefined {
  const body = jsonOf(res) as { error?: { message?: unknown }; message?: unknown } | undefined;
  const message = body?.error?.message ?? body?.message;
  return typeof message === "string" && message.length > 0 ? message : undefined;
}

/**
 * The invariants every answer to a fuzzed request keeps: a status line, no 5xx, an error
 * body that is JSON with a message, no stack trace, and none of the sentinel's secrets.
 */
export function expectWellFormed(world: FuzzWorld, res: RawResponse, what: string): void {
  expect(res.status, `${what}: ${res.head}`).toBeGreaterThanOrEqual(200);
  expect(res.status, `${what}: ${res.head}\n${res.body.toString("utf8").slice(0, 500)}`).toBeLessThan(500);
  const text = res.body.toString("latin1");
  for (const secret of world.secrets) expect(text.includes(secret), `${what} leaked ${secret}`).toBe(false);
  // A HEAD answer carries the headers of the error but no body.
  if (res.status >= 400 && !what.startsWith("HEAD")) {
    expect(res.headers["content-type"], `${what}: ${res.head}`).toBe("application/json");
    expect(errorMessage(res), `${what}: ${text.slice(0, 300)}`).toBeDefined();
    expect(text, what).not.toMatch(/\n\s+at \S|node:internal|\.ts:\d+:\d+/);
  }
}
