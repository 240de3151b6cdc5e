import { describe, expect, it } from "vitest";
import { belongsTo, CONTEXT_TAG_ENV, parseStat, tagFromEnviron, type ProcessEntry } from "../../../src/execd/contexts/process-table.js";

const stat = (pid: number, comm: string, state: string, ppid: number, pgid: number, sid: number, rssPages: number): string =>
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice threads itreal starttime vsize rss ...
  `${pid} (${comm}) ${state} ${ppid} ${pgid} ${sid} 0 -1 4194304 10 0 0 0 1 2 0 0 20 0 1 0 100 1000000 ${rssPages} 18446744073709551615 0 0\n`;

const entry = (overrides: Partial<ProcessEntry>): ProcessEntry => ({
  pid: 100,
  state: "S",
  ppid: 1,
  pgid: 100,
  sid: 100,
  rssBytes: 0,
  tag: null,
  ...overrides,
});

describe("parseStat", () => {
  it("reads pid, state, parent, group, session and resident memory", () => {
    expect(parseStat(stat(42, "python3", "R", 7, 42, 42, 256))).toEqual({
      pid: 42,
      state: "R",
      ppid: 7,
      pgid: 42,
      sid: 42,
      rssBytes: 256 * 4096,
    });
  });

  it("counts fields from the last parenthesis, so a command name with spaces and parentheses does not shift them", () => {
    expect(parseStat(stat(9, "a) b (c", "S", 3, 4, 5, 1))).toMatchObject({ pid: 9, ppid: 3, pgid: 4, sid: 5, rssBytes: 4096 });
  });

  it("returns null for text that is not a stat line", () => {
    expect(parseStat("")).toBeNull();
    expect(parseStat("12 no parentheses here")).toBeNull();
    expect(parseStat("12 (short) S 1")).toBeNull();
  });
});

describe("tagFromEnviron", () => {
  it("finds the context tag among NUL-separated variables", () => {
    expect(tagFromEnviron(`PATH=/bin\0${CONTEXT_TAG_ENV}=abc123\0HOME=/x\0`)).toBe("abc123");
  });

  it("is null when the variable is absent, also when another name merely starts with it", () => {
    expect(tagFromEnviron("PATH=/bin\0HOME=/x\0")).toBeNull();
    expect(tagFromEnviron(`${CONTEXT_TAG_ENV}_OTHER=1\0`)).toBeNull();
  });
});

describe("belongsTo", () => {
  const owner = { tag: "t1", leaderPid: 100 };

  it("claims a process by its tag even after it left the interpreter's group and session", () => {
    expect(belongsTo(entry({ pid: 300, pgid: 300, sid: 300, ppid: 1, tag: "t1" }), owner)).toBe(true);
  });

  it("claims an untagged process in the interpreter's group or session while the interpreter lives", () => {
    expect(belongsTo(entry({ pid: 101, pgid: 100, sid: 100 }), owner)).toBe(true);
    expect(belongsTo(entry({ pid: 102, pgid: 102, sid: 100 }), owner)).toBe(true);
    expect(belongsTo(entry({ pid: 101, pgid: 100, sid: 100 }), { tag: "t1", leaderPid: null })).toBe(false);
  });

  it("leaves other interpreters' processes, untagged strangers and zombies alone", () => {
    expect(belongsTo(entry({ pid: 200, pgid: 200, sid: 200, tag: "t2" }), owner)).toBe(false);
    expect(belongsTo(entry({ pid: 201, pgid: 201, sid: 201 }), owner)).toBe(false);
    expect(belongsTo(entry({ pid: 101, state: "Z", tag: "t1" }), owner)).toBe(false);
  });
});
