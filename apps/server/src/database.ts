import type { Database } from "@tasks/db";
import type { Logger } from "./logger.ts";

/** Whether the database answers a trivial query within `timeoutMs`. */
export async function databaseAnswers({ client }: Database, timeoutMs = 2_000): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
  const query = client.$queryRaw`SELECT 1`.then(() => true).catch(() => false);
  return Promise.race([query, timeout]);
}

/**
 * Waits for the database at start, retrying with exponential backoff (0.25 s doubling up to
 * 5 s) for at most `waitMs`, and saying so. A server that starts before its database (a
 * container started alongside it, a database resuming from suspend) then comes up by itself.
 */
export async function waitForDatabase(
  database: Database,
  { waitMs, logger }: { waitMs: number; logger: Logger },
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
    if (await databaseAnswers(database)) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(
        waitMs === 0
          ? "The database is not reachable (DATABASE_STARTUP_WAIT_SECONDS=0: not retrying)."
          : `The database did not become reachable within ${Math.round(waitMs / 1000)} s.`,
      );
    }
    const retryInMs = Math.min(delay, left);
    logger.warn({ attempt, retryInMs }, "database not reachable yet; retrying");
    await new Promise((resolve) => setTimeout(resolve, retryInMs));
  }
}
