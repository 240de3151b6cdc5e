import { describe, expect, it } from "vitest";
import { PodCreateExpectations } from "../../../../src/controllers/sandbox/pod-expectations.js";

describe("PodCreateExpectations", () => {
  it("holds a created pod as pending until the cache shows it", () => {
    const e = new PodCreateExpectations(30_000);
    expect(e.pending("uid-1", 0)).toBe(false);
    e.created("uid-1", 1_000);
    expect(e.pending("uid-1", 1_001)).toBe(true);
    expect(e.pending("uid-2", 1_001)).toBe(false);
    e.observed("uid-1");
    expect(e.pending("uid-1", 1_002)).toBe(false);
  });

  it("lets the expectation run out so a lost watch event cannot block a recreate", () => {
    const e = new PodCreateExpectations(30_000);
    e.created("uid-1", 1_000);
    expect(e.pending("uid-1", 31_000)).toBe(false);
    expect(e.pending("uid-1", 1_500)).toBe(false);
  });
});
