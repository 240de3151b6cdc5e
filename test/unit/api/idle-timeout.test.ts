import { describe, expect, it } from "vitest";
import { idleTimeoutOf, parseIdleTimeout } from "../../../src/api/index.js";

describe("parseIdleTimeout", () => {
  it.each([
    ["90s", 90_000],
    ["15m", 900_000],
    ["1h30m", 5_400_000],
    ["1500ms", 1_500],
    ["2.5s", 2_500],
    ["120", 120_000],
    [" 10m ", 600_000],
  ])("reads %s", (value, ms) => {
    expect(parseIdleTimeout(value)).toEqual({ ok: true, ms });
  });

  it.each(["", "soon", "10 m", "10d", "-5s", "5s junk", "m"])("refuses %j, naming the annotation and the value", (value) => {
    const r = parseIdleTimeout(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(`agents.x-k8s.io/idle-timeout "${value}"`);
  });

  it("refuses a timeout under a second", () => {
    const r = parseIdleTimeout("500ms");
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.message).toContain("shorter than 1s");
  });

  it("reads the annotation off an object's annotations, undefined when absent", () => {
    expect(idleTimeoutOf({ "agents.x-k8s.io/idle-timeout": "2m" })).toEqual({ ok: true, ms: 120_000 });
    expect(idleTimeoutOf({ other: "x" })).toBeUndefined();
    expect(idleTimeoutOf(undefined)).toBeUndefined();
  });
});
