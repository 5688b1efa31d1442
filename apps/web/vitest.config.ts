import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The browser needs a moment for each step: a request to the API and a render.
    expect: { poll: { timeout: 10_000 } },
  },
});
