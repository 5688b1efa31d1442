import { defineConfig } from "vitest/config";

/** The database suites run once through node-postgres and once through Neon's serverless driver. */
const databaseSuites = [
  "test/scoped.test.ts",
  "test/database.test.ts",
  "test/row-security.test.ts",
  "test/changes.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "pg", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "neon", include: databaseSuites, env: { TEST_DRIVER: "neon" } },
      },
    ],
  },
});
