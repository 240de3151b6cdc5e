import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  AUTO_MAX_TASKS,
  AUTO_MEMORY_GUARD_SHARE,
  AUTO_MIN_TASKS,
  parseMaxTasks,
  parseMemoryGuard,
} from "../../../src/execd/contexts/guard-flags.js";
import type { ProcessEntry } from "../../../src/execd/contexts/process-table.js";
import { largest, ResourceGuard, usageByContext } from "../../../src/execd/contexts/resource-guard.js";

const proc = (pid: number, tag: string | null, rssMiB: number, state = "S"): ProcessEntry => ({
  pid,
  state,
  ppid: 1,
  pgid: pid,
  sid: pid,
  rssBytes: rssMiB * 1024 * 1024,
  tag,
});

const contexts = [
  { id: "a", owner: { tag: "ta", leaderPid: 10 } },
  { id: "b", owner: { tag: "tb", leaderPid: 20 } },
];

describe("usageByContext and largest", () => {
  const table = [
    proc(10, "ta", 50),
    proc(11, "ta", 1),
    proc(12, "ta", 1),
    proc(13, "ta", 1, "Z"),
    proc(20, "tb", 300),
    proc(30, null, 900),
    { ...proc(31, null, 5), pgid: 20 },
  ];

  it("adds up each context's live processes and resident memory, its group members without a tag included", () => {
    expect(usageByContext(table, contexts)).toEqual([
      { id: "a", processes: 3, rssBytes: 52 * 1024 * 1024 },
      { id: "b", processes: 2, rssBytes: 305 * 1024 * 1024 },
    ]);
  });

  it("picks the context with the most processes or the most memory; processes no context owns are never blamed", () => {
    const usage = usageByContext(table, contexts);
    expect(largest(usage, "processes")?.id).toBe("a");
    expect(largest(usage, "rssBytes")?.id).toBe("b");
    expect(largest(usageByContext([proc(30, null, 900)], contexts), "rssBytes")).toBeNull();
  });
});

describe("ResourceGuard", () => {
  it("does nothing and reads nothing when no context is running", async () => {
    const contained: string[] = [];
    const guard = new ResourceGuard(
      { guarded: () => [], busy: () => [], contain: async (id) => void contained.push(id) },
      {
        maxTasks: 16,
        memoryLimitBytes: 64 * 1024 * 1024,
        intervalMs: 100,
        ownsNamespace: false,
        logger: pino({ level: "silent" }),
        procRoot: "/nonexistent",
      },
    );
    await guard.check();
    expect(contained).toEqual([]);
  });

  it("is off when neither limit is set", () => {
    const guard = new ResourceGuard(
      { guarded: () => contexts, busy: () => [], contain: async () => undefined },
      { maxTasks: null, memoryLimitBytes: null, intervalMs: 100, ownsNamespace: false, logger: pino({ level: "silent" }) },
    );
    expect(guard.enabled).toBe(false);
  });
});

describe("guard flags", () => {
  it("turns the guard on with auto only where the server owns its PID namespace", () => {
    const MiB = 1024 * 1024;
    expect(parseMaxTasks("auto", true, () => 1280 * MiB)).toBe(128);
    expect(parseMaxTasks("auto", true, () => 64 * 1024 * MiB)).toBe(AUTO_MAX_TASKS);
    expect(parseMaxTasks("auto", true, () => 100 * MiB)).toBe(AUTO_MIN_TASKS);
    expect(parseMaxTasks("auto", true, () => null)).toBe(AUTO_MAX_TASKS);
    expect(parseMaxTasks("auto", false, () => 1280 * MiB)).toBeNull();
    expect(parseMemoryGuard("auto", true, () => 1000 * 1024 * 1024)).toBe(Math.floor(1000 * 1024 * 1024 * AUTO_MEMORY_GUARD_SHARE));
    expect(parseMemoryGuard("auto", false, () => 1000 * 1024 * 1024)).toBeNull();
    expect(parseMemoryGuard("auto", true, () => null)).toBeNull();
  });

  it("takes explicit numbers and none anywhere", () => {
    expect(parseMaxTasks("300", false)).toBe(300);
    expect(parseMaxTasks("none", true)).toBeNull();
    expect(parseMemoryGuard(String(512 * 1024 * 1024), false)).toBe(512 * 1024 * 1024);
    expect(parseMemoryGuard("NONE", true)).toBeNull();
  });

  it("names the flag and the value it refused", () => {
    expect(() => parseMaxTasks("lots")).toThrow(/--max-tasks: .*"lots"/);
    expect(() => parseMaxTasks("3")).toThrow(/at least 16/);
    expect(() => parseMemoryGuard("1000")).toThrow(/--memory-guard: .*at least 67108864.*"1000"/);
  });
});
