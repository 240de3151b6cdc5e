// Fails when src/api/generated/core-v1.ts differs from what scripts/gen-core-schemas.ts produces
// from the Kubernetes OpenAPI documents (fetched into the Go module cache on first use).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CORE_SCHEMAS_FILE, findSpecDir, generate } from "../../../scripts/gen-core-schemas.js";

describe("src/api/generated/core-v1.ts", () => {
  it("matches the Kubernetes OpenAPI documents", { timeout: 120_000 }, () => {
    const fresh = generate(findSpecDir()) === readFileSync(CORE_SCHEMAS_FILE, "utf8");
    expect(fresh, "core-v1.ts is stale: run `npm run gen:core-schemas` and commit the result").toBe(true);
  });
});
