// Fails when crds/*.yaml no longer match the zod schemas in src/api.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CRD_DIR, renderCrdFiles } from "../../../scripts/gen-crds.js";

describe("generated CRDs in crds/", () => {
  const expected = renderCrdFiles();

  it("has exactly one file per kind", () => {
    const onDisk = readdirSync(CRD_DIR)
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    expect(onDisk, "crds/ does not match the kinds in src/api; run `npm run gen:crds`").toEqual([...expected.keys()].sort());
  });

  for (const [name, text] of expected) {
    it(`crds/${name} is up to date`, () => {
      const current = readFileSync(join(CRD_DIR, name), "utf8");
      // A plain boolean keeps the failure message short (the files are ~200 KB).
      const fresh = current === text;
      expect(fresh, `crds/${name} is stale: run \`npm run gen:crds\` and commit the result`).toBe(true);
    });
  }
});
