import { defineConfig } from "vitest/config";

// One project per test tier so each can be run alone (`npm run test:<tier>`).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "execd",
          include: ["test/execd/**/*.test.ts"],
          globalSetup: ["test/execd/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/integration/harness/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // The tiers share one API server; files run one after another so their
          // operators do not fight over the same objects.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          // Brings the local cluster up (scripts/cluster.sh up) unless it already is.
          globalSetup: ["test/e2e/harness/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // One node with 2 cores: files run one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
