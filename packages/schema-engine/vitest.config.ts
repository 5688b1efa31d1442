import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // A case runs up to three Prisma CLI commands, each a CLI and an engine process of about
    // 1.5 s of CPU together: on a busy two-core machine, a case can take a quarter of a minute.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
