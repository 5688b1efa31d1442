import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { NextConfig } from "next";

/**
 * The workspace's `.env` configures the web app as it does the API server (one
 * DATABASE_URL for both); variables already set win over it.
 */
function loadWorkspaceEnv(dir = process.cwd()): void {
  for (; dirname(dir) !== dir; dir = dirname(dir)) {
    if (!existsSync(join(dir, "pnpm-workspace.yaml"))) continue;
    if (existsSync(join(dir, ".env"))) process.loadEnvFile(join(dir, ".env"));
    return;
  }
}
loadWorkspaceEnv();

const config: NextConfig = {
  // Workspace packages ship TypeScript source.
  transpilePackages: ["@tasks/api", "@tasks/auth", "@tasks/db", "@tasks/telemetry"],
  // Loaded from their own files at run time (WebAssembly, data files), or patching modules as
  // they load (OpenTelemetry's SDK, Prisma's instrumentation): not bundled.
  serverExternalPackages: [
    "@electric-sql/pglite",
    "@electric-sql/pglite-socket",
    "@opentelemetry/sdk-node",
    "@prisma/instrumentation",
  ],
};

export default config;
