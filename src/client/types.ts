// Public types of the SDK.
import type { ClaimEnvVarInput, SandboxOperatingMode } from "../api/index.js";
import type { SandboxInfo, SandboxState } from "../shared/sandbox/sandbox-info.js";

export type { SandboxInfo, SandboxState };

export type Language = "python" | "javascript" | "bash";

export interface CreateSandboxOptions {
  /** SandboxWarmPool to claim from (give this or `template`). */
  warmPool?: string;
  /** SandboxTemplate whose warm pool to claim from (router mode). */
  template?: string;
  namespace?: string;
  ttlSeconds?: number;
  displayName?: string;
  labels?: Record<string, string>;
  /**
   * Environment variables for every context of the sandbox: `{name, value}`, or `{name,
   * valueFrom: {secretKeyRef: {name, key}}}` for a key of a Secret in the sandbox's namespace.
   * The template's envVarsInjectionPolicy must allow them. The sandbox is Ready only once they
   * are set, so the first call sees them.
   */
  env?: ClaimEnvVarInput[];
  /** How long to wait for Ready (default 180 s); TimeoutError after that. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ListOptions {
  namespace?: string;
  state?: SandboxState | SandboxState[];
  template?: string;
  labels?: Record<string, string>;
  limit?: number;
  pageToken?: string;
}

/** A Sandbox's spec.operatingMode: Suspended has no pod; Running again starts a new one. */
export type OperatingMode = SandboxOperatingMode;

export interface SandboxList {
  sandboxes: SandboxInfo[];
  nextPageToken?: string | undefined;
}

export interface WarmPoolInfo {
  name: string;
  namespace: string;
  template: string;
  replicas: number;
  readyReplicas: number;
}

export type FileContent = string | Uint8Array;

export interface RunOptions {
  language?: Language;
  /** Execution context: variables persist across runs in the same context (default "default"). */
  context?: string;
  /** Files written into the workspace before the code runs. */
  files?: Array<{ name: string; content: FileContent }>;
  env?: Record<string, string>;
  /** Server-side limit for the call; the interpreter is restarted if it is exceeded. */
  timeoutMs?: number;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  onResult?: (result: RichResult) => void;
  /** Throw ExecutionError when the code raises (default true); false returns it in `error`. */
  throwOnError?: boolean;
  signal?: AbortSignal;
}

export interface RichResult {
  mimeType: string;
  /** Text for text/* types, base64 for binary ones (image/png). */
  data: string;
}

export interface OutputFile {
  name: string;
  size: number;
  content: Buffer;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  error?: { name: string; message: string; traceback: string } | undefined;
  results: RichResult[];
  /** Files the call created or changed in the workspace. */
  outputFiles: OutputFile[];
  durationMs: number;
  context?: { id: string; language: Language; stateLost?: boolean; restartReason?: string } | undefined;
  warnings: string[];
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface FileEntry {
  name: string;
  size: number;
  type: "file" | "directory" | "symlink" | "other";
  modifiedAt: string;
}
