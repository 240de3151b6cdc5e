import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readKernelBootTime, recordBoot, restartNotice } from "../../../src/execd/boot-marker.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "boot-marker-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("recordBoot", () => {
  it("counts boots and records the kernel's boot time with each", async () => {
    const file = path.join(dir, "boots");
    expect(await recordBoot(file, 1000)).toEqual({ bootsBefore: 0, kernelRestarted: undefined });
    expect((await readFile(file, "utf8")).trim()).toBe("1 1000");
    // The same kernel (one second of clock wobble): only the container restarted.
    expect(await recordBoot(file, 1001)).toEqual({ bootsBefore: 1, kernelRestarted: false });
    // Another kernel: under gVisor, the whole sandbox restarted.
    expect(await recordBoot(file, 5000)).toEqual({ bootsBefore: 2, kernelRestarted: true });
    expect((await readFile(file, "utf8")).trim()).toBe("3 5000");
  });

  it("reads a marker written without a boot time, and cannot then tell which restart it was", async () => {
    const file = path.join(dir, "boots");
    await writeFile(file, "4\n");
    expect(await recordBoot(file, 1000)).toEqual({ bootsBefore: 4, kernelRestarted: undefined });
    expect(await recordBoot(file, undefined)).toEqual({ bootsBefore: 5, kernelRestarted: undefined });
  });
});

describe("readKernelBootTime", () => {
  it("reads btime from /proc/stat, and nothing from a file without it", async () => {
    const stat = path.join(dir, "stat");
    await writeFile(stat, "cpu  1 2 3\nbtime 1796668008\nprocesses 12\n");
    expect(readKernelBootTime(stat)).toBe(1796668008);
    await writeFile(stat, "cpu  1 2 3\n");
    expect(readKernelBootTime(stat)).toBeUndefined();
    expect(readKernelBootTime(path.join(dir, "missing"))).toBeUndefined();
  });
});

describe("restartNotice", () => {
  it("says nothing on a first boot, and says what was lost after a restart", () => {
    expect(restartNotice({ bootsBefore: 0, kernelRestarted: undefined }, true)).toBeNull();
    expect(restartNotice({ bootsBefore: 1, kernelRestarted: false }, true)).toMatch(
      /boot 2 of this pod: its container was restarted.*files in \/workspace were kept/,
    );
    expect(restartNotice({ bootsBefore: 2, kernelRestarted: true }, true)).toMatch(
      /boot 3 of this pod: the whole sandbox was restarted.*\/workspace starts empty/,
    );
    expect(restartNotice({ bootsBefore: 2, kernelRestarted: true }, false)).toMatch(
      /whole sandbox was restarted.*files in \/workspace were kept/,
    );
    expect(restartNotice({ bootsBefore: 1, kernelRestarted: undefined }, true)).toMatch(/its container or the whole sandbox was restarted/);
  });
});
