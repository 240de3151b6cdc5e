import { lstat, realpath } from "node:fs/promises";
import path from "node:path";
import { ExecdError, forbiddenPath } from "../http/errors.js";

/**
 * Resolves a client-supplied relative path inside the workspace, or throws 403.
 *
 * Refused: NUL bytes, absolute paths, any `..` segment, and paths whose nearest existing
 * ancestor (or the path itself) resolves through a symlink to somewhere outside the
 * workspace. `workspaceReal` must already be the workspace's realpath.
 */
export async function resolveInWorkspace(workspaceReal: string, relative: string): Promise<string> {
  if (relative.includes("\0")) throw forbiddenPath("path contains a NUL byte");
  if (relative.startsWith("/") || path.isAbsolute(relative) || /^[A-Za-z]:[\\/]/.test(relative)) {
    throw forbiddenPath(`absolute paths are not allowed: ${relative}`);
  }
  const segments = relative.split(/[\\/]+/);
  if (segments.includes("..")) throw forbiddenPath(`path escapes the workspace: ${relative}`);
  const target = path.resolve(workspaceReal, ...segments.filter((s) => s !== "" && s !== "."));
  if (!isInside(workspaceReal, target)) throw forbiddenPath(`path escapes the workspace: ${relative}`);
  const real = await realpathOfNearestExisting(target);
  if (!isInside(workspaceReal, real)) {
    throw forbiddenPath(`path resolves through a symlink outside the workspace: ${relative}`);
  }
  return target;
}

/** Path relative to the workspace, with forward slashes, for responses. */
export function workspaceRelative(workspaceReal: string, absolute: string): string {
  return path.relative(workspaceReal, absolute).split(path.sep).join("/");
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

async function realpathOfNearestExisting(target: string): Promise<string> {
  let current = target;
  const missing: string[] = [];
  for (;;) {
    try {
      const real = await realpath(current);
      return path.join(real, ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // User code can plant a symlink loop, and a client can send a name the filesystem
      // cannot hold; both are the request's fault, not the server's.
      if (code === "ELOOP") throw forbiddenPath(`path goes through a symlink loop: ${current}`);
      if (code === "ENAMETOOLONG") throw nameTooLong();
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      // realpath cannot follow a dangling symlink, and writing through one would create its
      // target wherever it points, so such a link is refused outright.
      if (await isSymlink(current)) throw forbiddenPath(`path goes through a dangling symlink: ${current}`);
      const parent = path.dirname(current);
      if (parent === current) return target;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

export const nameTooLong = (): ExecdError =>
  new ExecdError(400, "name_too_long", "path is too long (a name may have at most 255 bytes, a path 4095)");

async function isSymlink(candidate: string): Promise<boolean> {
  try {
    return (await lstat(candidate)).isSymbolicLink();
  } catch {
    return false;
  }
}
