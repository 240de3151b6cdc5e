// The console's calls to the router that serves it: the management API and a sandbox's files
// and executions through it. The token lives in this object only, never in storage, so closing
// or reloading the page forgets it.
import { ndjson } from "../client/ndjson.js";
import type { FileEntry, Language, SandboxInfo, WarmPoolInfo } from "../client/types.js";
import { encodeWorkspacePath } from "../shared/http/workspace-path.js";
import { toExecuteEvent, type ExecuteEvent } from "./execute-events.js";

/** An answer the router gave with an error status, with the code and message of its JSON body. */
export class ConsoleApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ConsoleApiError";
  }
}

/** What one code cell sends. */
export interface ExecuteRequest {
  code: string;
  language: Language;
  context?: string;
}

/** One signed-in session of the console against the router at `base` (the router's root URL). */
export class ConsoleApi {
  readonly #token: string;

  constructor(
    token: string,
    readonly namespace: string,
    private readonly base: URL,
  ) {
    this.#token = token;
  }

  /** The sandboxes (claims) of the namespace, every page of them. */
  async listSandboxes(): Promise<SandboxInfo[]> {
    const all: SandboxInfo[] = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ limit: "500", ...(pageToken ? { pageToken } : {}) });
      const page = (await this.#json(`v1/sandboxes?${query}`)) as { sandboxes: SandboxInfo[]; nextPageToken?: string };
      all.push(...page.sandboxes);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  async getSandbox(id: string): Promise<SandboxInfo> {
    return (await this.#json(this.#sandboxPath(id))) as SandboxInfo;
  }

  async listPools(): Promise<WarmPoolInfo[]> {
    const body = (await this.#json(`v1/warmpools`)) as { warmPools: WarmPoolInfo[] };
    return body.warmPools;
  }

  /** Claims a sandbox from a warm pool; answers once it is running or the router stops waiting. */
  async createSandbox(warmPool: string, ttlSeconds: number): Promise<SandboxInfo> {
    return (await this.#json("v1/sandboxes", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ namespace: this.namespace, warmPool, ttlSeconds }),
    })) as SandboxInfo;
  }

  async deleteSandbox(id: string): Promise<void> {
    await this.#fetch(this.#sandboxPath(id), { method: "DELETE" });
  }

  async suspendSandbox(id: string): Promise<void> {
    await this.#fetch(`${this.#sandboxPath(id)}/suspend`, { method: "POST" });
  }

  async resumeSandbox(id: string): Promise<void> {
    await this.#fetch(`${this.#sandboxPath(id)}/resume`, { method: "POST" });
  }

  /** Runs code and hands every event to `onEvent` as it arrives. */
  async execute(id: string, request: ExecuteRequest, onEvent: (event: ExecuteEvent) => void, signal?: AbortSignal): Promise<void> {
    const res = await this.#fetch(`${this.#sandboxPath(id)}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify(request),
      ...(signal ? { signal } : {}),
    });
    if (!res.body) throw new ConsoleApiError(res.status, "empty_answer", "the router answered the call without a body");
    for await (const event of ndjson(res.body)) onEvent(toExecuteEvent(event));
  }

  /** The entries of a workspace directory ("" is the workspace itself). */
  async listFiles(id: string, path: string): Promise<FileEntry[]> {
    const body = (await this.#json(this.#filePath(id, path))) as { entries?: FileEntry[] };
    if (!body.entries) throw new ConsoleApiError(400, "not_a_directory", `${path} is a file, not a directory`);
    return body.entries;
  }

  async downloadFile(id: string, path: string): Promise<Blob> {
    return (await this.#fetch(this.#filePath(id, path))).blob();
  }

  async uploadFile(id: string, path: string, content: Blob): Promise<void> {
    await this.#fetch(this.#filePath(id, path), {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: content,
    });
  }

  #sandboxPath(id: string): string {
    return `v1/sandboxes/${encodeURIComponent(id)}`;
  }

  #filePath(id: string, path: string): string {
    return `${this.#sandboxPath(id)}/files/${encodeWorkspacePath(path)}`;
  }

  async #json(path: string, init: RequestInit = {}): Promise<unknown> {
    return (await this.#fetch(path, init)).json();
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.#token}`);
    // The namespace goes in the router's header rather than the query, which reaches the pod.
    headers.set("x-sandbox-namespace", this.namespace);
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), { ...init, headers, credentials: "omit", cache: "no-store" });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ConsoleApiError(0, "unreachable", `the router did not answer: ${(err as Error).message}`);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }
}

/** The router's `{"error": {"code", "message"}}` answer as an error, or the status alone. */
async function errorOf(res: Response): Promise<ConsoleApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === "string" ? body.error.code : `http_${res.status}`;
    const message = typeof body.error?.message === "string" ? body.error.message : text;
    return new ConsoleApiError(res.status, code, message);
  } catch {
    return new ConsoleApiError(res.status, `http_${res.status}`, text.slice(0, 500) || res.statusText);
  }
}
