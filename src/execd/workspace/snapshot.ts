import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

/** File identity used to spot files a call created or changed. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export type Snapshot = Map<string, FileStamp>;

/** Upper bound on files examined, so a huge workspace cannot stall every call. */
const MAX_ENTRIES = 20_000;

/** Regular files under `root` (relative path -> stamp). Symlinks are not followed. */
export async function snapshotFiles(root: string): Promise<Snapshot> {
  const files: Snapshot = new Map();
  const pending = [""];
  let seen = 0;
  while (pending.length && seen < MAX_ENTRIES) {
    const dir = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(root, dir), { withFileTypes: true });
    } catch {
      continue; // removed or unreadable while we walked
    }
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) break;
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) pending.push(rel);
      else if (entry.isFile()) {
        try {
          const stats = await lstat(path.join(root, rel));
          files.set(rel, { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino });
        } catch {
          // gone between readdir and lstat
        }
      }
    }
  }
  return files;
}

/** Files present in `after` that are new or whose stamp differs from `before`, sorted by name. */
export function changedFiles(before: Snapshot, after: Snapshot): Array<{ name: string; size: number }> {
  const changed: Array<{ name: string; size: number }> = [];
  for (const [name, stamp] of after) {
    const old = before.get(name);
    if (
      !old ||
      old.size !== stamp.size ||
      old.mtimeMs !== stamp.mtimeMs ||
      old.ctimeMs !== stamp.ctimeMs ||
      old.ino !== stamp.ino
    ) {
      changed.push({ name, size: stamp.size });
    }
  }
  return changed.sort((a, b) => a.name.localeCompare(b.name));
}
