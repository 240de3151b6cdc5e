import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { randomBytes } from "node:crypto";
import busboy from "busboy";
import { readJson } from "../http/body.js";
import { ExecdError, badRequest, sendJson, tooLarge } from "../http/errors.js";
import { upstreamExecuteSchema } from "../schemas.js";
import { listDirectory } from "../workspace/listing.js";
import { resolveInWorkspace } from "../workspace/paths.js";
import type { RouteCall, RouteDeps } from "./context.js";
import { streamToFile } from "./v1-files.js";

// The upstream python runtime (kubernetes-sigs/agent-sandbox examples/python-runtime-sandbox)
// answers with these bodies; its clients parse them, so they are reproduced as-is.
const ACCESS_DENIED = { message: "Access denied" };
const FILE_NOT_FOUND = { message: "File not found" };

/** GET / */
export async function healthRoute(_deps: RouteDeps, { res }: RouteCall): Promise<void> {
  sendJson(res, 200, { status: "ok", message: "Sandbox Runtime is active." });
}

/** Upstream's /execute answer; `timed_out` is present (true) only when the time limit killed the command. */
interface UpstreamExecuteResult {
  stdout: string;
  stderr: string;
  exit_code: number;
  timed_out?: true;
}

/**
 * POST /execute {command, timeout_seconds?} -> {stdout, stderr, exit_code, timed_out?}. Unlike
 * upstream (shlex + exec), the command runs through a real shell so pipes, redirects and `&&`
 * work; each call is a fresh process in the workspace, as upstream's callers expect. The time
 * limit is `timeout_seconds` or the server's `SANDBOX_EXEC_TIMEOUT_SECONDS`, whichever is
 * shorter; a command that exceeds it is killed with its whole process group and the answer
 * carries `timed_out: true`, which upstream's clients read.
 */
export async function upstreamExecuteRoute(deps: RouteDeps, { req, res }: RouteCall): Promise<void> {
  const body = await readJson(req, deps.maxJsonBytes, upstreamExecuteSchema);
  const limitMs = body.timeout_seconds ? Math.min(body.timeout_seconds * 1000, deps.commandTimeoutMs) : deps.commandTimeoutMs;
  sendJson(res, 200, await runCommand(deps, body.command, limitMs));
}

async function runCommand(deps: RouteDeps, command: string, limitMs: number): Promise<UpstreamExecuteResult> {
  return new Promise((resolve) => {
    const child = spawn(deps.shell, ["-c", command], {
      cwd: deps.workspaceReal,
      env: deps.contexts.kernelEnv,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let note = "";
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= deps.maxOutputBytes) into.push(chunk);
      else {
        const room = deps.maxOutputBytes - (bytes - chunk.length);
        if (room > 0) into.push(chunk.subarray(0, room));
        note ||= `\noutput exceeded ${deps.maxOutputBytes} bytes (--max-output-bytes) and was truncated`;
      }
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      note += `\nCommand timed out after ${limitMs / 1000} seconds`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, limitMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ stdout: "", stderr: `Failed to execute command: ${error.message}`, exit_code: 1 });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8") + note,
        exit_code: code ?? (signal ? 128 + signalNumber(signal) : 1),
        ...(timedOut ? { timed_out: true as const } : {}),
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11 };
  return numbers[signal] ?? 0;
}

/**
 * POST /upload: multipart field `file`; its filename is the destination path inside the
 * workspace (parents created). The part is streamed to disk as it arrives.
 */
export async function uploadRoute(deps: RouteDeps, { req, res }: RouteCall): Promise<void> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, preservePath: true, limits: { files: 1, fields: 16 } });
  } catch (error) {
    throw badRequest(`expected a multipart/form-data body: ${(error as Error).message}`);
  }
  const saved = await new Promise<string | null>((resolve, reject) => {
    let work: Promise<string> | null = null;
    parser.on("file", (field, stream, info) => {
      // busboy fails the part's stream when the body ends mid-part. saveUpload awaits path
      // checks before piping it, and an 'error' with no listener yet would crash the server;
      // the pipeline still sees the error, and the parser's own 'error' answers 400.
      stream.on("error", () => undefined);
      if (field !== "file" || work) {
        stream.resume();
        return;
      }
      work = saveUpload(deps, info.filename ?? "", stream);
      // A refused part (too large, bad path) answers at once; the rest of the body is
      // drained by the error handler instead of waiting for the parser to finish.
      work.catch((error: unknown) => {
        req.unpipe(parser);
        stream.resume();
        // Filesystem errors keep their own status; anything else came from the part's stream,
        // which busboy fails when the body is malformed.
        const fromStream = !(error instanceof ExecdError) && !(error as NodeJS.ErrnoException).code;
        reject(fromStream ? badRequest(`malformed multipart body: ${(error as Error).message}`) : error);
      });
    });
    parser.on("error", (error: Error) => {
      const failure = badRequest(`malformed multipart body: ${error.message}`);
      // The part being saved fails too; answer once its temporary file is gone.
      if (work)
        work.then(
          () => reject(failure),
          () => reject(failure),
        );
      else reject(failure);
    });
    parser.on("close", () => {
      if (!work) resolve(null);
      else work.then(resolve, reject);
    });
    req.pipe(parser);
  }).catch((error: unknown) => {
    if (error instanceof ExecdError && error.status === 403) return "denied" as const;
    throw error;
  });
  if (saved === "denied") {
    sendJson(res, 403, ACCESS_DENIED);
    return;
  }
  if (saved === null) throw badRequest('multipart body has no "file" part');
  sendJson(res, 200, { message: `File '${saved}' uploaded successfully.` });
}

async function saveUpload(deps: RouteDeps, filename: string, stream: NodeJS.ReadableStream): Promise<string> {
  if (!filename) throw badRequest("the file part has no filename");
  const target = await resolveInWorkspace(deps.workspaceReal, filename);
  if (target === deps.workspaceReal) throw badRequest("the filename names the workspace itself");
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.execd-upload-${randomBytes(6).toString("hex")}`;
  await streamToFile(stream, temp, deps.maxBytes);
  await rename(temp, target);
  return filename;
}

/** GET /download/{path} */
export async function downloadRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  const target = await confined(deps, rest);
  if (!target) return sendJson(res, 403, ACCESS_DENIED);
  const stats = await stat(target).catch(() => null);
  if (!stats?.isFile()) return sendJson(res, 404, FILE_NOT_FOUND);
  if (stats.size > deps.maxBytes) throw tooLarge(`file of ${stats.size} bytes exceeds the limit of ${deps.maxBytes} bytes`);
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": stats.size,
    "content-disposition": `attachment; filename="${path.basename(target).replaceAll('"', "")}"`,
  });
  await pipeline(createReadStream(target), res);
}

/** GET /list/{path} -> [{name, size, type, mod_time}] */
export async function listRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  const target = await confined(deps, rest);
  if (!target) return sendJson(res, 403, ACCESS_DENIED);
  const stats = await stat(target).catch(() => null);
  if (!stats?.isDirectory()) return sendJson(res, 404, { message: "Directory not found" });
  const entries = await listDirectory(target);
  sendJson(
    res,
    200,
    entries.map((entry) => ({
      name: entry.name,
      size: entry.size,
      type: entry.type === "directory" ? "directory" : "file",
      mod_time: entry.mtime,
    })),
  );
}

/** GET /exists/{path} -> {path, exists} */
export async function existsRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  const target = await confined(deps, rest);
  if (!target) return sendJson(res, 403, ACCESS_DENIED);
  const found = await stat(target).then(
    () => true,
    () => false,
  );
  sendJson(res, 200, { path: rest, exists: found });
}

/** Upstream answers a path outside its base directory with 403 "Access denied". */
async function confined(deps: RouteDeps, rest: string): Promise<string | null> {
  try {
    return await resolveInWorkspace(deps.workspaceReal, rest);
  } catch (error) {
    if (error instanceof ExecdError && error.status === 403) return null;
    throw error;
  }
}
