import { describe, expect, it } from "vitest";
import { quantityBytes, quantityValue } from "../../../src/api/quantity.js";

describe("quantityValue", () => {
  it.each([
    ["2Gi", 2 * 2 ** 30],
    ["64Mi", 64 * 2 ** 20],
    ["1Ki", 1024],
    ["1G", 1e9],
    ["500M", 5e8],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["100m", 0.1],
    ["1e3", 1000],
    ["12", 12],
    ["1E", 1e18],
  ])("reads %s as %d", (text, value) => {
    expect(quantityValue(text)).toBeCloseTo(value, 6);
  });

  it.each(["", "2GB", "Gi", "two", "1.2.3Gi"])("refuses %j, naming it", (text) => {
    expect(() => quantityValue(text)).toThrow(`"${text}" is not a Kubernetes quantity`);
  });
});

describe("quantityBytes", () => {
  it("rounds up to whole bytes and refuses negative sizes", () => {
    expect(quantityBytes("1500m")).toBe(2);
    expect(quantityBytes("2Gi")).toBe(2147483648);
    expect(() => quantityBytes("-1Gi")).toThrow("negative");
  });
});
