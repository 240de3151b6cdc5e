import { describe, expect, it } from "vitest";
import { nameHash } from "../../../../src/controllers/shared/name-hash.js";

describe("nameHash (FNV-1a 32, hex)", () => {
  it.each([
    ["", "811c9dc5"],
    ["a", "e40c292c"],
    ["foobar", "bf9cf968"],
    ["sandbox-1", "9b9033ee"],
  ])("hashes %j to %s", (input, want) => {
    expect(nameHash(input)).toBe(want);
  });

  it("hashes the UTF-8 bytes, not UTF-16 code units", () => {
    // Reference value computed over the UTF-8 encoding (é is two bytes).
    expect(nameHash("héllo")).toBe("4aa48540");
  });

  it("pads small hashes to 8 hex digits", () => {
    // "s91" hashes to 0x00b99cf0: without padding it would be 6 digits.
    expect(nameHash("s91")).toBe("00b99cf0");
  });

  it("always yields 8 lowercase hex digits", () => {
    for (let i = 0; i < 500; i++) expect(nameHash(`name-${i}`)).toMatch(/^[0-9a-f]{8}$/);
  });
});
