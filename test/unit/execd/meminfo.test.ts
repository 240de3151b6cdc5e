import { describe, expect, it } from "vitest";
import { meminfoBytes } from "../../../src/execd/meminfo.js";

describe("meminfoBytes", () => {
  const text = "MemTotal:        1310720 kB\nMemFree:          800000 kB\nMemAvailable:     900000 kB\n";

  it("reads a field in bytes", () => {
    expect(meminfoBytes(text, "MemTotal")).toBe(1310720 * 1024);
    expect(meminfoBytes(text, "MemAvailable")).toBe(900000 * 1024);
  });

  it("gives null for a field that is missing", () => {
    expect(meminfoBytes("MemTotal: 10 kB\n", "MemAvailable")).toBeNull();
    expect(meminfoBytes("", "MemTotal")).toBeNull();
  });
});
