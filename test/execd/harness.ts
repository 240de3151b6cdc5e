import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

/** The repository root (tests start the server from its source with tsx). */
export const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * The Python the suite runs code with: Debian's /usr/bin/python3, which has
 * python3-matplotlib from scripts/lib/install-execd-deps.sh. EXECD_TEST_PYTHON overrides.
 */
export const TEST_PYTHON = process.env.EXECD_TEST_PYTHON ?? "/usr/bin/python3";

/** Whether a fresh PID namespace can be made here (root only): `unshare` then makes the server PID 1 in it. */
export function canUnshare(): boolean {
  try {
    execFileSync("unshare", ["-fp", "--mount-proc", "--kill-child", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface ExecdProcess {
  url: string;
  token: string | undefined;
  workspace: string;
  child: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
  /** fetch against the server with the bearer token set. */
  request(pathname: string, init?: RequestInit): Promise<Response>;
  /** POST JSON and parse the JSON answer. */
  post<T = Record<string, unknown>>(pathname: string, body: unknown): Promise<{ status: number; body: T }>;
}

export interface StartOptions {
  token?: string | undefined;
  /** Pass the token through a file (--token-file) instead of --token. */
  tokenViaFile?: boolean;
  args?: string[];
  /** A built server to run with node (e.g. the bundle the images ship) instead of the source through tsx. */
  entry?: string;
  /** Replaces the launcher, e.g. to run the server inside runsc. Gets node's argv. */
  wrap?: (argv: string[]) => { file: string; args: string[] };
  /** Host the test connects to (the server itself listens on 0.0.0.0). */
  connectHost?: string;
  port?: number;
  workspace?: string;
  /** Extra environment for the server process (e.g. EXECD_TOKEN). */
  env?: Record<string, string>;
}

/** Starts `sandbox-execd` as a real child process on a free port and waits until it listens. */
export async function startExecd(options: StartOptions = {}): Promise<ExecdProcess> {
  const workspace = options.workspace ?? (await mkdtemp(path.join(os.tmpdir(), "execd-ws-")));
  const args = [
    ...(options.entry ? [options.entry] : ["--import", "tsx", path.join(ROOT, "src/execd/main.ts")]),
    "--port",
    String(options.port ?? 0),
    "--workspace",
    workspace,
    "--python",
    TEST_PYTHON,
    ...(options.args ?? []),
  ];
  let tokenFile: string | null = null;
  if (options.token && options.tokenViaFile) {
    tokenFile = path.join(await mkdtemp(path.join(os.tmpdir(), "execd-token-")), "token");
    await writeFile(tokenFile, `${options.token}\n`, { mode: 0o600 });
    args.push("--token-file", tokenFile);
  } else if (options.token) {
    args.push("--token", options.token);
  }
  const launch = options.wrap ? options.wrap([process.execPath, ...args]) : { file: process.execPath, args };
  const child = spawn(launch.file, launch.args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`execd did not start:\n${logs.join("\n")}`)), 60_000);
    const onLine = (line: string): void => {
      logs.push(line);
      if (!line.includes("sandbox-execd listening")) return;
      try {
        const parsed = JSON.parse(line) as { port: number };
        clearTimeout(timer);
        resolve(parsed.port);
      } catch {
        // not the JSON log line
      }
    };
    readline.createInterface({ input: child.stdout! }).on("line", onLine);
    readline.createInterface({ input: child.stderr! }).on("line", (line) => logs.push(line));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`execd exited with ${code} during start:\n${logs.join("\n")}`));
    });
  });
  const url = `http://${options.connectHost ?? "127.0.0.1"}:${port}`;
  const token = options.token ?? options.env?.EXECD_TOKEN;
  const request = (pathname: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    return fetch(`${url}${pathname}`, { ...init, headers });
  };
  return {
    url,
    token,
    workspace,
    child,
    logs,
    request,
    async post<T>(pathname: string, body: unknown) {
      const res = await request(pathname, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await gone;
      }
      if (!options.workspace) await rm(workspace, { recursive: true, force: true });
      if (tokenFile) await rm(path.dirname(tokenFile), { recursive: true, force: true });
    },
  };
}

/** Shape of a /v1/execute JSON answer. */
export interface ExecuteAnswer {
  stdout: string;
  stderr: string;
  exitCode: number;
  error?: { name: string; message: string; traceback: string };
  results: Array<{ mimeType: string; data: string }>;
  outputFiles: Array<{ name: string; size: number; content: string }>;
  durationMs: number;
  context: { id: string; language: string; stateLost: boolean; restartReason?: string };
}

export interface ErrorAnswer {
  error: { code: string; message: string };
}

export const b64 = (text: string | Buffer): string => Buffer.from(text).toString("base64");
export const unb64 = (text: string): string => Buffer.from(text, "base64").toString("utf8");

/** Reads an NDJSON response into its events. */
export async function readNdjson(res: Response): Promise<Array<Record<string, unknown>>> {
  const text = await res.text();
  return text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
