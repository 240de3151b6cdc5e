import { readdir, stat } from "node:fs/promises";
import path from "node:path";

export interface ListingEntry {
  name: string;
  size: number;
  type: "file" | "directory" | "symlink" | "other";
  modifiedAt: string;
  mtime: number;
}

/** Entries of one directory, sorted by name; symlinks are reported, not followed. */
export async function listDirectory(dir: string): Promise<ListingEntry[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const listed: ListingEntry[] = [];
  for (const entry of entries) {
    try {
      const stats = entry.isSymbolicLink() ? null : await stat(path.join(dir, entry.name));
      const type = entry.isDirectory() ? "directory" : entry.isFile() ? "file" : entry.isSymbolicLink() ? "symlink" : "other";
      const mtimeMs = stats?.mtimeMs ?? 0;
      listed.push({
        name: entry.name,
        size: stats?.size ?? 0,
        type,
        modifiedAt: new Date(mtimeMs).toISOString(),
        mtime: mtimeMs / 1000,
      });
    } catch {
      // removed while listing
    }
  }
  return listed.sort((a, b) => a.name.localeCompare(b.name));
}
