import { existsSync } from "node:fs";
import { join } from "node:path";
import { RowSecurityError } from "@tasks/db";
import { workspaceRoot } from "@tasks/db/embedded";
import { startApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";

// Variables already set win over the file.
const envFile = join(workspaceRoot(), ".env");
if (existsSync(envFile)) process.loadEnvFile(envFile);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
try {
  const app = await startApp(config, logger);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      logger.info({ signal }, "signal received");
      app.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  // A role the policies would not bind is the operator's to fix: one line says how.
  if (error instanceof RowSecurityError) logger.fatal(error.message);
  else logger.fatal({ err: error }, "failed to start");
  process.exit(1);
}
