import { describe, expect, it } from "vitest";
import { formatRFC3339Nano, wallClockNs } from "../../../src/runtime/rfc3339-nano.js";

const at = (iso: string, extraNs = 0n): bigint => BigInt(Date.parse(iso)) * 1_000_000n + extraNs;

describe("formatRFC3339Nano", () => {
  it("writes all nine fraction digits when they are all significant", () => {
    expect(formatRFC3339Nano(at("2026-07-19T15:27:56.851Z", 234_567n))).toBe("2026-07-19T15:27:56.851234567Z");
  });

  it("drops trailing zeros of the fraction, as Go's layout does", () => {
    expect(formatRFC3339Nano(at("2026-07-19T15:27:56.850Z"))).toBe("2026-07-19T15:27:56.85Z");
    expect(formatRFC3339Nano(at("2026-07-19T15:27:56.000Z", 1_000n))).toBe("2026-07-19T15:27:56.000001Z");
  });

  it("drops the dot too when the fraction is zero", () => {
    expect(formatRFC3339Nano(at("2026-07-19T15:27:56Z"))).toBe("2026-07-19T15:27:56Z");
  });

  it("floors instants before 1970", () => {
    expect(formatRFC3339Nano(-1n)).toBe("1969-12-31T23:59:59.999999999Z");
  });

  it("refuses an instant a Date cannot hold", () => {
    expect(() => formatRFC3339Nano(10n ** 30n)).toThrow(/out of range/);
  });
});

describe("wallClockNs", () => {
  it("is within a millisecond of Date.now()", () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const now = wallClockNs();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(now >= before - 1_000_000n && now <= after).toBe(true);
  });

  it("resolves below the millisecond (almost never a whole one, unlike Date.now())", () => {
    const readings = Array.from({ length: 50 }, () => wallClockNs() % 1_000_000n);
    expect(readings.some((r) => r !== 0n)).toBe(true);
  });
});
