import { describe, expect, it } from "vitest";
import { Expectations } from "../../../../src/controllers/shared/expectations.js";

const none: ReadonlySet<string> = new Set();

describe("Expectations", () => {
  it("keeps a create pending until the cache shows it", () => {
    const e = new Expectations(1_000);
    e.expectCreate("ns/pool", "m1", 0);
    expect(e.pending("ns/pool", none, 10)).toEqual({ creating: ["m1"], deleting: [] });
    expect(e.pending("ns/pool", new Set(["m1"]), 20)).toEqual({ creating: [], deleting: [] });
    // Settled: it does not come back when the member later leaves the cache.
    expect(e.pending("ns/pool", none, 30).creating).toEqual([]);
  });

  it("drops a create that was never seen once it expires", () => {
    const e = new Expectations(1_000);
    e.expectCreate("p", "m1", 0);
    expect(e.pending("p", none, 999).creating).toEqual(["m1"]);
    expect(e.pending("p", none, 1_000).creating).toEqual([]);
    expect(e.pending("p", none, 5).creating).toEqual([]);
  });

  it("keeps a delete pending while the cache still shows the member", () => {
    const e = new Expectations(1_000);
    e.expectDelete("p", "m1", 0);
    expect(e.pending("p", new Set(["m1"]), 10)).toEqual({ creating: [], deleting: ["m1"] });
    expect(e.pending("p", none, 20).deleting).toEqual([]);
    expect(e.pending("p", new Set(["m1"]), 30).deleting).toEqual([]);
  });

  it("drops a delete that never showed up gone once it expires", () => {
    const e = new Expectations(1_000);
    e.expectDelete("p", "m1", 0);
    expect(e.pending("p", new Set(["m1"]), 1_000).deleting).toEqual([]);
  });

  it("forgets a delete that failed, so the member counts again", () => {
    const e = new Expectations();
    e.expectDelete("p", "m1", 0);
    e.deletionFailed("p", "m1");
    expect(e.pending("p", new Set(["m1"]), 10).deleting).toEqual([]);
  });

  it("forgets a create that failed", () => {
    const e = new Expectations();
    e.expectCreate("p", "m1", 0);
    e.expectCreate("p", "m2", 0);
    e.creationFailed("p", "m1");
    expect(e.pending("p", none, 1).creating).toEqual(["m2"]);
  });

  it("ignores creationFailed for an unknown pool or name", () => {
    const e = new Expectations();
    e.creationFailed("nope", "m1");
    e.expectCreate("p", "m1", 0);
    e.creationFailed("p", "other");
    expect(e.pending("p", none, 1).creating).toEqual(["m1"]);
  });

  it("keeps pools apart", () => {
    const e = new Expectations();
    e.expectCreate("a", "m1", 0);
    e.expectDelete("b", "m2", 0);
    expect(e.pending("a", new Set(["m2"]), 1)).toEqual({ creating: ["m1"], deleting: [] });
    expect(e.pending("b", new Set(["m2"]), 1)).toEqual({ creating: [], deleting: ["m2"] });
  });

  it("forget drops a pool's creates and deletes", () => {
    const e = new Expectations();
    e.expectCreate("p", "m1", 0);
    e.expectDelete("p", "m2", 0);
    e.expectCreate("q", "m3", 0);
    e.forget("p");
    expect(e.pending("p", new Set(["m2"]), 1)).toEqual({ creating: [], deleting: [] });
    expect(e.pending("q", none, 1).creating).toEqual(["m3"]);
  });

  it("re-expecting a name restarts its expiry", () => {
    const e = new Expectations(1_000);
    e.expectCreate("p", "m1", 0);
    e.expectCreate("p", "m1", 900);
    expect(e.pending("p", none, 1_500).creating).toEqual(["m1"]);
  });

  it("defaults to a one-minute expiry", () => {
    const e = new Expectations();
    e.expectCreate("p", "m1", 0);
    expect(e.pending("p", none, 59_999).creating).toEqual(["m1"]);
    expect(e.pending("p", none, 60_000).creating).toEqual([]);
  });
});

describe("Expectations for a sandbox's pod (keyed by sandbox, named by its uid)", () => {
  it("holds a created pod as pending until the cache shows it", () => {
    const e = new Expectations(30_000);
    expect(e.pending("ns/sb", none, 0).creating.includes("uid-1")).toBe(false);
    e.expectCreate("ns/sb", "uid-1", 1_000);
    expect(e.pending("ns/sb", none, 1_001).creating.includes("uid-1")).toBe(true);
    expect(e.pending("ns/sb", none, 1_001).creating.includes("uid-2")).toBe(false);
    expect(e.pending("ns/sb", new Set(["uid-1"]), 1_002).creating.includes("uid-1")).toBe(false);
    expect(e.pending("ns/sb", none, 1_003).creating.includes("uid-1")).toBe(false);
  });

  it("lets the expectation run out so a lost watch event cannot block a recreate", () => {
    const e = new Expectations(30_000);
    e.expectCreate("ns/sb", "uid-1", 1_000);
    expect(e.pending("ns/sb", none, 31_000).creating.includes("uid-1")).toBe(false);
    expect(e.pending("ns/sb", none, 1_500).creating.includes("uid-1")).toBe(false);
  });
});
