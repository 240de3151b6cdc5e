import type { ServerResponse } from "node:http";
import { readFilesBody, type FilesBody, type FilesBodyLimits } from "../http/json-files-body.js";
import { tooLarge } from "../http/errors.js";
import type { RichResult, RunSink } from "../kernels/kernel.js";
import { executeCodeSchema, executeSchema } from "../schemas.js";
import { CollectingSink, prepareCall, runCall, type CallRequest, type CallResult, type PreparedCall } from "../execute/run-call.js";
import { OutputBudget } from "../execute/output-budget.js";
import { base64Length, write, writeFileBase64, writeJsonWithFiles } from "../execute/stream-json.js";
import type { RouteCall, RouteDeps } from "./context.js";

const NDJSON = "application/x-ndjson";

/** POST /v1/execute: JSON in, JSON out, or NDJSON events when the client accepts them. */
export async function executeRoute(deps: RouteDeps, call: RouteCall): Promise<void> {
  const parsed = await readFilesBody(call.req, filesLimits(deps), executeSchema);
  try {
    await execute(deps, call, withSpills(parsed));
  } finally {
    await parsed.cleanup();
  }
}

async function execute(deps: RouteDeps, { req, res }: RouteCall, body: CallRequest): Promise<void> {
  const prepared = await prepareCall(deps, body);
  if ((req.headers.accept ?? "").includes(NDJSON)) {
    await streamExecute(deps, res, prepared);
    return;
  }
  const sink = new CollectingSink(deps.maxBytes, deps.maxOutputBytes);
  const call = await runCall(deps, prepared, sink);
  const truncated = sink.output.summary;
  const head = {
    stdout: sink.stdoutText,
    stderr: sink.stderrText,
    exitCode: call.exitCode,
    ...(call.error ? { error: call.error } : {}),
    results: sink.results,
    durationMs: call.durationMs,
    context: contextSummary(call),
    ...(truncated ? { outputTruncated: truncated } : {}),
  };
  const size = estimateSize(sink, call.outputFiles);
  if (overLimit(deps, sink, call.outputFiles)) {
    throw tooLarge(
      `response of about ${size} bytes (${filesTotal(call.outputFiles)} bytes of files) exceeds the limit of ` +
        `${deps.maxBytes} bytes of files or ${deps.maxJsonBytes} bytes of JSON; the call ran and its ` +
        `files stay in the workspace (${call.outputFiles.map((f) => f.name).join(", ") || "none"}): ` +
        `fetch them with GET /v1/files/{path}`,
    );
  }
  res.writeHead(200, { "content-type": "application/json" });
  await writeJsonWithFiles(res, head, "outputFiles", deps.workspaceReal, call.outputFiles, true);
  res.end();
}

/** POST /v1/executeCode: the hosted Vertex AI code-execution response shape. */
export async function executeCodeRoute(deps: RouteDeps, call: RouteCall): Promise<void> {
  const parsed = await readFilesBody(call.req, filesLimits(deps), executeCodeSchema);
  try {
    await executeCode(deps, call, withSpills(parsed));
  } finally {
    await parsed.cleanup();
  }
}

const filesLimits = (deps: RouteDeps): FilesBodyLimits => ({
  maxJsonBytes: deps.maxJsonBytes,
  maxFileBytes: deps.maxBytes,
  scratchDir: deps.scratchDir,
});

/** Points each input file whose content was decoded during parsing at its file on disk. */
function withSpills<T extends { files?: Array<{ name: string; content: string }> | undefined }>(parsed: FilesBody<T>): T & CallRequest {
  const files = parsed.body.files?.map((file, index) => ({ ...file, spillPath: parsed.spilled.get(index)?.path }));
  return { ...parsed.body, files } as T & CallRequest;
}

async function executeCode(deps: RouteDeps, { res }: RouteCall, body: CallRequest): Promise<void> {
  const prepared = await prepareCall(deps, body);
  const sink = new CollectingSink(deps.maxBytes, deps.maxOutputBytes);
  const call = await runCall(deps, prepared, sink);
  const size = estimateSize(sink, call.outputFiles);
  if (overLimit(deps, sink, call.outputFiles)) {
    throw tooLarge(
      `response of about ${size} bytes (${filesTotal(call.outputFiles)} bytes of files) exceeds the limit of ` +
        `${deps.maxBytes} bytes of files; the files stay in the workspace`,
    );
  }
  res.writeHead(200, { "content-type": "application/json" });
  const head = { msg_out: sink.stdoutText, msg_err: sink.stderrText };
  await writeJsonWithFiles(res, head, "output_files", deps.workspaceReal, call.outputFiles, false);
  res.end();
}

function contextSummary(call: CallResult): Record<string, unknown> {
  return {
    id: call.context.id,
    language: call.context.language,
    stateLost: call.stateLost,
    ...(call.restartReason ? { restartReason: call.restartReason } : {}),
  };
}

const filesTotal = (files: Array<{ size: number }>): number => files.reduce((sum, f) => sum + f.size, 0);

/** Files are limited by their own size (like the hosted API), the JSON as a whole by its encoding. */
function overLimit(deps: RouteDeps, sink: CollectingSink, files: Array<{ name: string; size: number }>): boolean {
  return sink.overLimit || filesTotal(files) > deps.maxBytes || estimateSize(sink, files) > deps.maxJsonBytes;
}

function estimateSize(sink: CollectingSink, files: Array<{ name: string; size: number }>): number {
  // JSON escaping can grow text; 1.1x plus per-file overhead is a safe bound for the check.
  const fileBytes = files.reduce((sum, f) => sum + base64Length(f.size) + f.name.length + 64, 0);
  return Math.ceil(sink.bytes * 1.1) + fileBytes + 1024;
}

/**
 * Streams a call as NDJSON events: stdout/stderr/result as they happen, then error (if
 * any), one outputFile event per changed file, and a final summary event.
 */
async function streamExecute(deps: RouteDeps, res: ServerResponse, prepared: PreparedCall): Promise<void> {
  res.writeHead(200, { "content-type": NDJSON, "cache-control": "no-store" });
  res.flushHeaders();
  // Writes are chained so events keep their order even when the socket applies backpressure.
  let chain: Promise<void> = Promise.resolve();
  const send = (event: Record<string, unknown>): void => {
    const line = `${JSON.stringify(event)}\n`;
    chain = chain.then(() => write(res, line)).catch(() => undefined);
  };
  // Without a cap, a print loop faster than the reader would queue events here without bound.
  const output = new OutputBudget(deps.maxOutputBytes);
  const emit = (type: "stdout" | "stderr", text: string): void => {
    const kept = output.admit(text);
    if (kept) send({ type, text: kept });
  };
  const sink: RunSink = {
    stdout: (text) => emit("stdout", text),
    stderr: (text) => emit("stderr", text),
    result: (result: RichResult) => send({ type: "result", ...result }),
  };
  try {
    const call = await runCall(deps, prepared, sink);
    if (call.error) send({ type: "error", ...call.error });
    await chain;
    let sent = 0;
    for (const file of call.outputFiles) {
      sent += file.size;
      if (sent > deps.maxBytes) {
        send({
          type: "warning",
          message: `output file ${file.name} and later ones were not sent: the limit of ${deps.maxBytes} bytes of files was reached; fetch them with GET /v1/files/{path}`,
        });
        break;
      }
      await write(res, `{"type":"outputFile","name":${JSON.stringify(file.name)},"size":${file.size},"content":"`);
      await writeFileBase64(res, deps.workspaceReal, file.name);
      await write(res, `"}\n`);
    }
    send({
      type: "summary",
      exitCode: call.exitCode,
      ...(call.error ? { error: call.error } : {}),
      outputFiles: call.outputFiles,
      durationMs: call.durationMs,
      context: contextSummary(call),
      ...(output.summary ? { outputTruncated: output.summary } : {}),
    });
  } catch (error) {
    const failure = error as { status?: number; code?: string; message: string };
    send({ type: "error", name: failure.code ?? "ServerError", message: failure.message, traceback: "" });
    send({ type: "summary", exitCode: -1, failed: true });
  }
  await chain;
  res.end();
}
