// fast-check generators for hostile paths and names, and the rule that says which of them
// must be refused because they leave the workspace.
import fc from "fast-check";
import type { Plant } from "./fuzz-fixture.js";

/** Percent-encodes, keeping lone surrogates as their (invalid) UTF-8 bytes instead of throwing. */
export function encodeLoosely(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...text].map((c) => (/[\ud800-\udfff]/.test(c) ? "%ED%A0%80" : encodeURIComponent(c))).join("");
  }
}

/** decodeURIComponent, or null where the server must answer 400 (bad percent-encoding). */
export function decodeOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** Replaced with the percent-encoded absolute path of the sentinel's secret at run time. */
export const SENTINEL_ABSOLUTE = "@SENTINEL-ABSOLUTE@";

/** Path segments as they appear in a request target (already percent-encoded where needed). */
const TRICKY_SEGMENTS = [
  "..",
  "%2e%2e",
  "%2E%2E",
  ".%2e",
  "%2e.",
  "...",
  ".",
  "",
  "%2f",
  "%2F..",
  "%5c",
  "..%2f..",
  "..%5c..",
  "%5c..%5c",
  "%2e%2e%2f%2e%2e",
  "escape-dir",
  "escape-file",
  "dangling",
  "root-link",
  "tmp-link",
  "loop-a",
  "inside",
  "inside%2fvia-link",
  "via-link",
  "ok-link",
  "deeper",
  "file.txt",
  "fifo",
  "sentinel",
  "sub",
  "etc",
  "passwd",
  "%00",
  "a%00b",
  "%",
  "%zz",
  "%e0%a4%a",
  "%c0%ae%c0%ae",
  "%ef%bc%8e%ef%bc%8e",
  "%c3%bc",
  "%e6%97%a5%e6%9c%ac",
  "%e2%80%ae",
  "%f0%9f%98%80",
  "%20",
  "%0a",
  "%0d%0a",
  "%23",
  "%3f",
  "~",
  "*",
  SENTINEL_ABSOLUTE,
];

/** Ordinary names, so that part of every run is accepted and the refusals are measured against it. */
const PLAIN_SEGMENTS = ["data", "notes.txt", "out", "a.b.c", "x_y-z", "Caf%C3%A9", "%E2%9C%93.txt"];

export const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...TRICKY_SEGMENTS) },
  { weight: 6, arbitrary: fc.constantFrom(...PLAIN_SEGMENTS) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 4200 }).map((n) => "a".repeat(n)) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }).map(encodeLoosely) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 6 }).map(encodeLoosely) },
);

/** A request-target path remainder: a few segments, sometimes absolute, sometimes very deep. */
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .tuple(fc.boolean(), fc.array(segmentArb, { minLength: 1, maxLength: 6 }))
      .map(([lead, s]) => `${lead ? "/" : ""}${s.join("/")}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 2100 }).map((n) => Array.from({ length: n }, () => "d").join("/")) },
);

/**
 * Whether a decoded path must be refused: NUL, absolute, any `..`, or a walk through a
 * planted link that points outside (links that stay inside are followed).
 */
export function mustRefuse(decoded: string, plants: Record<string, Plant>): boolean {
  if (decoded.includes("\0") || decoded.startsWith("/")) return true;
  const segments = decoded.split(/[\\/]+/).filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return true;
  let at: string[] = [];
  for (const segment of segments) {
    const candidate = [...at, segment].join("/");
    const plant = plants[candidate];
    if (plant?.escapes) return true;
    at = plant ? plant.target.split("/") : [...at, segment];
  }
  return false;
}
