import { defineConfig } from "vitest/config";

/** The files that test the API itself: they run once more through PgBouncer (transaction mode). */
const apiSuite = [
  "test/procedures.test.ts",
  "test/isolation.test.ts",
  "test/attacks.test.ts",
  "test/input.test.ts",
  "test/fuzz.test.ts",
  "test/rest.test.ts",
  "test/pgbouncer.test.ts",
  "test/time-and-quota.test.ts",
  "test/live.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "server",
          include: ["test/**/*.test.ts"],
          exclude: ["test/pgbouncer.test.ts"],
        },
      },
      // The model test once more with the scoped client's rewriting of arguments removed (each
      // operation still sends its user): the database's row-level security alone keeps users apart.
      {
        extends: true,
        test: {
          name: "rls-only",
          include: ["test/model.test.ts"],
          env: { TEST_SCOPE_REWRITING: "off" },
        },
      },
      // PgBouncer stands in front of a PostgreSQL server, so only when the tests have one.
      ...(process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
        ? [
            {
              extends: true as const,
              test: { name: "pgbouncer", include: apiSuite, env: { TEST_VIA_PGBOUNCER: "1" } },
            },
            // Live updates through Neon's serverless driver (queries and LISTEN over WebSocket).
            {
              extends: true as const,
              test: { name: "neon", include: ["test/live.test.ts"], env: { TEST_DRIVER: "neon" } },
            },
          ]
        : []),
    ],
  },
});
