import { RowSecurityError } from "@tasks/db";
import type { Telemetry } from "@tasks/telemetry";
import { startApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";

/** Starts the API from the environment's configuration and stops it on SIGTERM or SIGINT. */
export async function run(telemetry: Telemetry | null): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }

  const logger = createLogger(config.logLevel);
  if (telemetry) {
    logger.info({ traces: telemetry.traces, metrics: telemetry.metrics }, "telemetry on");
  }
  try {
    const app = await startApp(config, logger);
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        logger.info({ signal }, "signal received");
        app
          .stop()
          // What is buffered is exported before the process ends.
          .then(() => telemetry?.shutdown())
          .then(
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
}
