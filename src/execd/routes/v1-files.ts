import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { randomBytes } from "node:crypto";
import { ExecdError, notFound, sendJson, tooLarge } from "../http/errors.js";
import { listDirectory } from "../workspace/listing.js";
import { resolveInWorkspace, workspaceRelative } from "../workspace/paths.js";
import type { RouteCall, RouteDeps } from "./context.js";

/** GET /v1/files/{path}: a file's raw bytes, or a directory listing as JSON. */
export async function getFileRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  const target = await resolveInWorkspace(deps.workspaceReal, rest);
  const stats = await statOr404(target, rest);
  if (stats.isDirectory()) {
    sendJson(res, 200, {
      path: workspaceRelative(deps.workspaceReal, target),
      entries: await listDirectory(target),
    });
    return;
  }
  if (!stats.isFile()) throw new ExecdError(400, "not_a_file", `${rest} is neither a file nor a directory`);
  if (stats.size > deps.maxBytes) {
    throw tooLarge(`file of ${stats.size} bytes exceeds the response limit of ${deps.maxBytes} bytes`);
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": stats.size });
  await pipeline(createReadStream(target), res);
}

/**
 * PUT /v1/files/{path}: streams the body to a temporary file beside the target and renames
 * it into place, so a failed or oversized upload never leaves a half-written file.
 */
export async function putFileRoute(deps: RouteDeps, { req, res, rest }: RouteCall): Promise<void> {
  const target = await resolveInWorkspace(deps.workspaceReal, rest);
  if (target === deps.workspaceReal) throw new ExecdError(400, "bad_request", "a file path is required");
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > deps.maxBytes) {
    throw tooLarge(`request body of ${declared} bytes exceeds the limit of ${deps.maxBytes} bytes`);
  }
  await mkdir(path.dirname(target), { recursive: true });
  const existing = await stat(target).catch(() => null);
  if (existing?.isDirectory()) throw new ExecdError(409, "is_a_directory", `${rest} is a directory`);
  const temp = `${target}.execd-upload-${randomBytes(6).toString("hex")}`;
  const size = await streamToFile(req, temp, deps.maxBytes);
  await rename(temp, target);
  sendJson(res, existing ? 200 : 201, { path: workspaceRelative(deps.workspaceReal, target), size });
}

/** DELETE /v1/files/{path}[?recursive=true] */
export async function deleteFileRoute(deps: RouteDeps, { res, rest, query }: RouteCall): Promise<void> {
  const target = await resolveInWorkspace(deps.workspaceReal, rest);
  if (target === deps.workspaceReal) throw new ExecdError(403, "path_forbidden", "the workspace root cannot be deleted");
  const stats = await statOr404(target, rest);
  if (stats.isDirectory()) {
    if (query.get("recursive") === "true") await rm(target, { recursive: true, force: true });
    else {
      try {
        await rmdir(target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOTEMPTY") {
          throw new ExecdError(409, "directory_not_empty", `${rest} is not empty; pass ?recursive=true`);
        }
        throw error;
      }
    }
  } else await rm(target);
  sendJson(res, 200, { path: workspaceRelative(deps.workspaceReal, target), deleted: true });
}

/** Copies a request body into `file`, failing with 413 (and removing the file) past `limit`. */
export async function streamToFile(source: NodeJS.ReadableStream, file: string, limit: number): Promise<number> {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > limit) done(tooLarge(`upload exceeds the limit of ${limit} bytes`));
      else done(null, chunk);
    },
  });
  const out = createWriteStream(file, { mode: 0o644 });
  try {
    await pipeline(source, counter, out);
  } catch (error) {
    // A source that failed at once (a cut-off multipart part) fails the pipeline while the
    // file is still being opened; removing it before the open completes would leave it behind.
    if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
    await rm(file, { force: true });
    throw error;
  }
  return total;
}

async function statOr404(target: string, rest: string): Promise<import("node:fs").Stats> {
  try {
    return await stat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`no such file or directory: ${rest}`);
    throw error;
  }
}
