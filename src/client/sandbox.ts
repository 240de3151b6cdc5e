// One sandbox: run code (streamed), files, shell commands, suspend / resume, delete.
import type { ControlPlane, DataPlane } from "./connection.js";
import { readBody } from "./connection.js";
import { errorFromResponse, ExecutionError, SandboxError, SandboxNotFoundError, TimeoutError } from "./errors.js";
import { encodeWorkspacePath } from "../shared/http/workspace-path.js";
import { ndjson } from "./ndjson.js";
import type { CommandResult, FileContent, FileEntry, Language, RichResult, RunOptions, RunResult, SandboxInfo } from "./types.js";

const toBase64 = (c: FileContent): string => (typeof c === "string" ? Buffer.from(c, "utf8") : Buffer.from(c)).toString("base64");

export class Sandbox {
  readonly id: string;
  readonly namespace: string;
  /** What was last known about the sandbox (refresh() updates it). */
  info: SandboxInfo;
  /**
   * A router-signed token for this sandbox only (router mode), to hand to another agent: it can
   * run code and read files here, and nothing else.
   */
  readonly accessToken: string | undefined;
  readonly files: SandboxFiles;
  readonly commands: SandboxCommands;
  readonly #control: ControlPlane;
  readonly #data: DataPlane;

  constructor(info: SandboxInfo, control: ControlPlane, data: DataPlane, accessToken?: string) {
    this.id = info.id;
    this.namespace = info.namespace;
    this.info = info;
    this.accessToken = accessToken;
    this.#control = control;
    this.#data = data;
    this.files = new SandboxFiles(this);
    this.commands = new SandboxCommands(this);
  }

  /** @internal A request to this sandbox's execution server; non-2xx answers become typed errors. */
  async fetch(path: string, init: RequestInit = {}, what = path): Promise<Response> {
    const res = await this.#data.request(this.namespace, this.id, path, init);
    if (!res.ok)
      throw errorFromResponse(res.status, await readBody(res), res.headers, `${init.method ?? "GET"} ${what} in sandbox ${this.id}`);
    return res;
  }

  /**
   * Runs code in a long-lived interpreter: variables, imports and functions stay for the next
   * run in the same context. Output streams to onStdout/onStderr as it is produced.
   */
  async run(code: string, opts: RunOptions = {}): Promise<RunResult> {
    const body = {
      code,
      ...(opts.language ? { language: opts.language } : {}),
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.files ? { files: opts.files.map((f) => ({ name: f.name, content: toBase64(f.content) })) } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    };
    const send = (): Promise<Response> =>
      this.fetch(
        "/v1/execute",
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/x-ndjson" },
          body: JSON.stringify(body),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        "execute",
      );
    let res: Response;
    try {
      res = await send();
    } catch (err) {
      // A named context is created on first use, with the language of that first run.
      if (!(opts.context && err instanceof SandboxNotFoundError && /context/i.test(err.message))) throw err;
      await this.createContext(opts.context, opts.language ?? "python");
      res = await send();
    }
    const result: RunResult = { stdout: "", stderr: "", exitCode: 0, results: [], outputFiles: [], durationMs: 0, warnings: [] };
    if (!res.body) throw new SandboxError("the sandbox answered without a body");
    let summary = false;
    for await (const event of ndjson(res.body)) {
      switch (event["type"]) {
        case "stdout":
          result.stdout += String(event["text"]);
          opts.onStdout?.(String(event["text"]));
          break;
        case "stderr":
          result.stderr += String(event["text"]);
          opts.onStderr?.(String(event["text"]));
          break;
        case "result": {
          const r: RichResult = { mimeType: String(event["mimeType"]), data: String(event["data"]) };
          result.results.push(r);
          opts.onResult?.(r);
          break;
        }
        case "error":
          result.error = { name: String(event["name"]), message: String(event["message"]), traceback: String(event["traceback"] ?? "") };
          break;
        case "outputFile":
          result.outputFiles.push({
            name: String(event["name"]),
            size: Number(event["size"]),
            content: Buffer.from(String(event["content"]), "base64"),
          });
          break;
        case "warning":
          result.warnings.push(String(event["message"]));
          break;
        case "summary":
          summary = true;
          result.exitCode = Number(event["exitCode"] ?? 0);
          result.durationMs = Number(event["durationMs"] ?? 0);
          if (event["context"]) result.context = event["context"] as RunResult["context"];
          if (event["failed"]) throw new SandboxError(`the sandbox could not run the code: ${result.error?.message ?? "unknown error"}`);
          break;
      }
    }
    if (!summary) throw new SandboxError("the sandbox's answer ended before the call finished (connection lost?)");
    if (result.error && opts.throwOnError !== false) {
      if (result.error.name === "TimeoutError")
        throw new TimeoutError(
          `the code ran past its timeout of ${opts.timeoutMs ?? "the server's default"} ms: ${result.error.message}`,
          200,
          "timeout",
        );
      throw new ExecutionError(result.error, result);
    }
    return result;
  }

  /** Creates an execution context (run() does this by itself for an unknown context name). */
  async createContext(id: string, language: Language = "python"): Promise<void> {
    try {
      await this.fetch(
        "/v1/contexts",
        { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id, language }) },
        "contexts",
      );
    } catch (err) {
      // Created meanwhile by a concurrent run: fine.
      if (!(err instanceof SandboxError && err.status === 409)) throw err;
    }
  }

  async refresh(): Promise<SandboxInfo> {
    this.info = await this.#control.get(this.namespace, this.id);
    return this.info;
  }

  /**
   * Suspends the sandbox: its pod is deleted, while the sandbox (claim and Sandbox) stays, with
   * its id and TTL, until resume() or delete(). Calls that would run code get SandboxNotReadyError
   * meanwhile. Suspending a suspended sandbox is fine. Resolves to the sandbox's state (also in
   * `info`), normally "suspended". Needs `patch` on the Sandbox (router mode: this sandbox's
   * access token may do it too). A sandbox that has no Sandbox yet throws SandboxNotReadyError
   * (code "not_bound").
   */
  async suspend(): Promise<SandboxInfo> {
    this.info = await this.#control.setOperatingMode(this.namespace, this.id, "Suspended");
    return this.info;
  }

  /**
   * Resumes a suspended sandbox in a new pod. What lived only in the old pod is lost: interpreter
   * state (variables, contexts) and, with an emptyDir workspace, the files. Resuming a running
   * sandbox is fine. Resolves once the change is written, usually before the new pod is Ready:
   * the state then reads "creating" (for a moment it may still read "suspended"), calls made
   * meanwhile get SandboxNotReadyError, and `client.waitReady(id)` waits for a creating sandbox.
   * Same permission as suspend().
   */
  async resume(): Promise<SandboxInfo> {
    this.info = await this.#control.setOperatingMode(this.namespace, this.id, "Running");
    return this.info;
  }

  async delete(): Promise<void> {
    await this.#control.delete(this.namespace, this.id);
  }
}

export class SandboxFiles {
  constructor(readonly sandbox: Sandbox) {}

  async read(path: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const res = await this.sandbox.fetch(`/v1/files/${encodeWorkspacePath(path)}`, opts.signal ? { signal: opts.signal } : {}, path);
    if ((res.headers.get("content-type") ?? "").includes("application/json")) {
      throw new SandboxError(`${path} is a directory; use files.list()`, 400, "is_a_directory");
    }
    return Buffer.from(await res.arrayBuffer());
  }

  async readText(path: string): Promise<string> {
    return (await this.read(path)).toString("utf8");
  }

  async write(path: string, content: FileContent | ReadableStream<Uint8Array>): Promise<{ path: string; size: number }> {
    const body = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    const res = await this.sandbox.fetch(
      `/v1/files/${encodeWorkspacePath(path)}`,
      {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: body as RequestInit["body"],
        ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit,
      path,
    );
    return (await res.json()) as { path: string; size: number };
  }

  async list(path = ""): Promise<FileEntry[]> {
    const res = await this.sandbox.fetch(`/v1/files/${encodeWorkspacePath(path)}`, {}, path || "/");
    const body = (await readBody(res)) as { entries?: FileEntry[] } | undefined;
    if (!body?.entries) throw new SandboxError(`${path} is a file, not a directory`, 400, "not_a_directory");
    return body.entries.map((e) => ({ name: e.name, size: e.size, type: e.type, modifiedAt: e.modifiedAt }));
  }

  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await this.sandbox.fetch(
      `/v1/files/${encodeWorkspacePath(path)}${opts.recursive ? "?recursive=true" : ""}`,
      { method: "DELETE" },
      path,
    );
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.sandbox.fetch(`/v1/files/${encodeWorkspacePath(path)}`, { method: "HEAD" }, path);
      return true;
    } catch (err) {
      if (err instanceof SandboxError && err.status === 404) return false;
      throw err;
    }
  }
}

export class SandboxCommands {
  constructor(readonly sandbox: Sandbox) {}

  /** Runs a shell command line (pipes, redirects, globs work) in the workspace. */
  async run(command: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CommandResult> {
    const signals = [opts.signal, opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    try {
      const res = await this.sandbox.fetch(
        "/execute",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ command }),
          ...(signals.length ? { signal: AbortSignal.any(signals) } : {}),
        },
        "command",
      );
      const body = (await res.json()) as { stdout: string; stderr: string; exit_code: number };
      return { stdout: body.stdout, stderr: body.stderr, exitCode: body.exit_code };
    } catch (err) {
      if (err instanceof Error && err.name === "TimeoutError" && !(err instanceof SandboxError)) {
        throw new TimeoutError(`command did not finish within ${opts.timeoutMs} ms: ${command}`);
      }
      throw err;
    }
  }
}
