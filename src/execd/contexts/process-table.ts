import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";

/**
 * Environment variable each interpreter is started with, set to a value unique to that
 * interpreter. Every process user code starts inherits it, including one that leaves its
 * process group or session (setsid, a double fork), so the server can find them all.
 */
export const CONTEXT_TAG_ENV = "EXECD_CONTEXT_TAG";

/** One process as /proc shows it: the fields the server needs to attribute and stop it. */
export interface ProcessEntry {
  pid: number;
  /** One-letter state; "Z" for a zombie, which holds no memory and cannot be killed again. */
  state: string;
  ppid: number;
  /** Process group. */
  pgid: number;
  /** Session. */
  sid: number;
  /** Resident memory in bytes. */
  rssBytes: number;
  /** Value of CONTEXT_TAG_ENV in the process's environment, when set and readable. */
  tag: string | null;
}

const PAGE_SIZE = 4096;

/**
 * Parses /proc/<pid>/stat. The command name is in parentheses and may itself hold spaces
 * and parentheses, so the fields are counted from the last ")". Null when malformed.
 */
export function parseStat(text: string): Omit<ProcessEntry, "tag"> | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // After ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const [ppid, pgid, sid, rssPages] = [fields[1], fields[2], fields[3], fields[21]].map(Number);
  if (![pid, ppid, pgid, sid, rssPages].every((n) => Number.isInteger(n))) return null;
  return { pid, state: fields[0] ?? "?", ppid: ppid!, pgid: pgid!, sid: sid!, rssBytes: rssPages! * PAGE_SIZE };
}

/** The value of CONTEXT_TAG_ENV in a NUL-separated environment block, or null. */
export function tagFromEnviron(environ: string): string | null {
  const prefix = `${CONTEXT_TAG_ENV}=`;
  for (const entry of environ.split("\0")) {
    if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  }
  return null;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, "latin1");
  } catch {
    return null;
  }
}

/** Every numeric entry of `procRoot`: the processes this PID namespace shows. */
export function listPids(procRoot = "/proc"): number[] {
  try {
    return readdirSync(procRoot)
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Reads every process under `procRoot`. A process that ends while being read is left out;
 * an environment that cannot be read (another user's process) gives a null tag. The reads
 * are asynchronous: when a sandbox is full of processes each one is slow, and the server
 * must keep answering its health checks meanwhile.
 */
export async function readProcessTable(procRoot = "/proc"): Promise<ProcessEntry[]> {
  const entries = await Promise.all(
    listPids(procRoot).map(async (pid): Promise<ProcessEntry | null> => {
      const stat = await readOrNull(`${procRoot}/${pid}/stat`);
      const parsed = stat === null ? null : parseStat(stat);
      if (!parsed) return null;
      // A zombie's environment is gone, and it is not worth a read.
      const environ = isDead({ ...parsed, tag: null }) ? null : await readOrNull(`${procRoot}/${pid}/environ`);
      return { ...parsed, tag: environ === null ? null : tagFromEnviron(environ) };
    }),
  );
  return entries.filter((entry): entry is ProcessEntry => entry !== null);
}

/** What identifies one interpreter's processes: its tag and, while it lives, its pid. */
export interface ProcessOwner {
  tag: string;
  /** The interpreter's pid; it leads its own session and process group. */
  leaderPid: number | null;
}

/**
 * Whether a process belongs to an interpreter: it carries the interpreter's tag, or it is
 * in the interpreter's process group or session (code that cleared its environment).
 */
export function belongsTo(entry: ProcessEntry, owner: ProcessOwner): boolean {
  if (isDead(entry)) return false;
  if (entry.tag === owner.tag) return true;
  return owner.leaderPid !== null && (entry.pgid === owner.leaderPid || entry.sid === owner.leaderPid);
}

/** A zombie or a process being torn down: nothing left to stop or to count. */
export function isDead(entry: ProcessEntry): boolean {
  return entry.state === "Z" || entry.state === "X" || entry.state === "x";
}
