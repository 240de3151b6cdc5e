import { copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ContextManager, CellOutcome } from "../contexts/context-manager.js";
import type { Language } from "../kernels/drivers.js";
import type { RichResult, RunSink } from "../kernels/kernel.js";
import { tooLarge } from "../http/errors.js";
import { OutputBudget } from "./output-budget.js";
import { decodedLength } from "../schemas.js";
import { resolveInWorkspace } from "../workspace/paths.js";
import { changedFiles, snapshotFiles } from "../workspace/snapshot.js";

export interface InputFile {
  name: string;
  /** Base64 content; empty when the content was already decoded to `spillPath`. */
  content: string;
  spillPath?: string | undefined;
}

export interface CallRequest {
  code: string;
  language?: Language | undefined;
  context?: string | undefined;
  files?: InputFile[] | undefined;
  timeoutMs?: number | undefined;
  env?: Record<string, string> | undefined;
}

export interface CallResult extends CellOutcome {
  context: { id: string; language: Language };
  outputFiles: Array<{ name: string; size: number }>;
  durationMs: number;
}

export interface CallDeps {
  contexts: ContextManager;
  /** Largest total of decoded input files per call. */
  maxBytes: number;
  /** Largest stdout + stderr one call returns; the rest is dropped with a marker. */
  maxOutputBytes: number;
  workspaceReal: string;
  defaultTimeoutMs: number;
}

export interface PreparedCall {
  target: { id: string; language: Language };
  inputs: Array<{ path: string; file: InputFile }>;
  request: CallRequest;
}

/**
 * Checks everything that can be refused before a call is queued (context, file names), so
 * a bad request fails with its own status and never touches the context.
 */
export async function prepareCall(deps: CallDeps, request: CallRequest): Promise<PreparedCall> {
  const total = (request.files ?? []).reduce((sum, file) => sum + decodedLength(file.content), 0);
  if (total > deps.maxBytes) {
    throw tooLarge(`input files total ${total} bytes, over the limit of ${deps.maxBytes} bytes`);
  }
  const target = deps.contexts.resolve(request.context, request.language);
  const inputs = await Promise.all(
    (request.files ?? []).map(async (file) => ({
      path: await resolveInWorkspace(deps.workspaceReal, file.name),
      file,
    })),
  );
  return { target, inputs, request };
}

/**
 * One /v1/execute call: write the input files, run the cell in its context, and list the
 * workspace files the call created or changed.
 */
export async function runCall(deps: CallDeps, prepared: PreparedCall, sink: RunSink): Promise<CallResult> {
  const { target, inputs, request } = prepared;
  return deps.contexts.enqueue(target.id, async () => {
    const started = performance.now();
    for (const input of inputs) {
      await mkdir(path.dirname(input.path), { recursive: true });
      if (input.file.spillPath) await moveFile(input.file.spillPath, input.path);
      else await writeFile(input.path, Buffer.from(input.file.content, "base64"));
      // The base64 text is no longer needed; let it be collected during the call.
      input.file.content = "";
    }
    const before = await snapshotFiles(deps.workspaceReal);
    const outcome = await deps.contexts.runCell(
      target.id,
      request.code,
      request.env ?? {},
      request.timeoutMs ?? deps.defaultTimeoutMs,
      sink,
    );
    const after = await snapshotFiles(deps.workspaceReal);
    return {
      ...outcome,
      context: target,
      outputFiles: changedFiles(before, after),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    };
  });
}

/** Collects a call's output in memory for a single JSON response. */
export class CollectingSink implements RunSink {
  stdoutText = "";
  stderrText = "";
  readonly results: RichResult[] = [];
  /** Bytes this answer will carry (kept output and results), for the response size check. */
  bytes = 0;
  readonly output: OutputBudget;

  constructor(
    private readonly limit: number,
    outputLimit: number,
  ) {
    this.output = new OutputBudget(outputLimit);
  }

  get overLimit(): boolean {
    return this.bytes > this.limit;
  }

  stdout(text: string): void {
    const kept = this.output.admit(text);
    this.bytes += kept.length;
    this.stdoutText += kept;
  }

  stderr(text: string): void {
    const kept = this.output.admit(text);
    this.bytes += kept.length;
    this.stderrText += kept;
  }

  result(result: RichResult): void {
    this.bytes += result.data.length;
    if (!this.overLimit) this.results.push(result);
  }
}

/** rename, or copy + delete when the scratch directory is on another filesystem. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}
