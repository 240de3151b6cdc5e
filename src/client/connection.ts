import type { CreateSandboxOptions, ListOptions, OperatingMode, SandboxInfo, SandboxList, WarmPoolInfo } from "./types.js";

/** Creating, finding and removing sandboxes (the router's management API, or SandboxClaims). */
export interface ControlPlane {
  readonly defaultNamespace: string;
  create(opts: CreateSandboxOptions): Promise<{ info: SandboxInfo; accessToken?: string | undefined }>;
  /** Waits (watch / long poll, never a polling loop) until the sandbox leaves "creating". */
  waitReady(namespace: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<SandboxInfo>;
  get(namespace: string, id: string): Promise<SandboxInfo>;
  list(opts: ListOptions): Promise<SandboxList>;
  delete(namespace: string, id: string): Promise<void>;
  /**
   * Writes the operating mode of the Sandbox bound to the sandbox: Suspended deletes its pod,
   * Running starts a new one. Resolves to what is then known about the sandbox.
   */
  setOperatingMode(namespace: string, id: string, mode: OperatingMode): Promise<SandboxInfo>;
  warmPools(namespace: string): Promise<WarmPoolInfo[]>;
  scaleWarmPool(namespace: string, name: string, replicas: number): Promise<void>;
}

/** Requests to a sandbox's execution server (through the router, or straight to the pod). */
export interface DataPlane {
  request(namespace: string, id: string, path: string, init: RequestInit): Promise<Response>;
}

export const DEFAULT_READY_TIMEOUT_MS = 180_000;

/** Reads a JSON (or text) body, tolerating empty answers. */
export async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
