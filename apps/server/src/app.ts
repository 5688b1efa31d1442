import type { AddressInfo } from "node:net";
import {
  type AuthConfig,
  createApiRateLimiter,
  createTokenVerifier,
  type LiveService,
  observeLiveStreams,
  startLiveChanges,
} from "@tasks/api";
import { developmentSecret } from "@tasks/auth/dev-secret";
import { checkRowSecurity, createDb, type Database } from "@tasks/db";
import { type Config, DEVELOPMENT_JWKS_URL, developmentAuth } from "./config.ts";
import { waitForDatabase } from "./database.ts";
import type { Logger } from "./logger.ts";
import { createApiServer } from "./server.ts";

export interface App {
  /** Where the API listens, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Stops taking requests, lets in-flight ones finish, then closes the database. */
  stop(): Promise<void>;
}

/** How long in-flight requests get to finish on shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function startApp(config: Config, logger: Logger): Promise<App> {
  const { timeoutMs, startupWaitMs, ...connection } = config.database;
  const database = await createDb({
    ...connection,
    connectionTimeoutMs: timeoutMs,
    queryTimeoutMs: timeoutMs,
  });
  let role: string;
  try {
    await waitForDatabase(database, { waitMs: startupWaitMs, logger });
    // A role the policies would not bind, or policies not in place, stop the start here.
    role = await checkRowSecurity(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  logger.info(
    { driver: database.driver, url: database.embeddedUrl, role, rowSecurity: database.rowSecurity },
    "database ready",
  );
  if (database.rowSecurity === "off") {
    logger.warn(
      "row-level security is off (ROW_LEVEL_SECURITY=off): the scoped client alone keeps users apart",
    );
  }

  const rateLimiter = createApiRateLimiter(database.client, config.rateLimits, {
    // The reason's message only, never the error (its fields could hold the connection string).
    onStoreError: (reason) =>
      logger.warn({ reason }, "rate limit store unavailable; limiting per instance"),
    onStoreRecovered: () => logger.info("rate limit store available again"),
  });
  const live = config.live.maxStreams > 0 ? startLive(database, config, logger) : null;
  const unobserve = live ? observeLiveStreams(() => live.live.stats().streams) : undefined;
  const server = createApiServer({
    config,
    database,
    verifyToken: createTokenVerifier(...resolveAuth(config, logger)),
    rateLimiter,
    live: live?.live ?? null,
    logger,
  });
  await new Promise<void>((listening, failed) => {
    server.once("error", failed);
    server.listen(config.port, config.host, listening);
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  logger.info({ url }, "API listening");

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop() {
      stopping ??= (async () => {
        logger.info("shutting down");
        const closed = new Promise<void>((done) => server.close(() => done()));
        server.closeIdleConnections();
        // Open streams end now, with an error their clients retry: they resume elsewhere.
        live?.live.close();
        const cutoff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
        await closed;
        clearTimeout(cutoff);
        await live?.close();
        unobserve?.();
        await rateLimiter?.close();
        await database.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}

function startLive(database: Database, config: Config, logger: Logger): LiveService {
  const live = startLiveChanges(database, {
    perUser: config.live.perUser,
    total: config.live.maxStreams,
    retentionMs: config.live.retentionMs,
    readTimeoutMs: config.database.timeoutMs,
    onListening: () => logger.info("listening for changes"),
    // The reason's message only, never the error (its fields could hold the connection string).
    onListenerFailure: (reason, retryInMs) =>
      logger.warn({ reason, retryInMs }, "listening for changes failed; live streams wait"),
    onPruneFailure: (reason) => logger.warn({ reason }, "pruning the changes log failed"),
  });
  return live;
}

function resolveAuth(config: Config, logger: Logger): AuthConfig[] {
  if (config.auth) {
    logger.info({ mode: config.auth.mode }, "token verification configured");
    return [config.auth];
  }
  const auth = developmentAuth({ secret: developmentSecret("dev-jwt-secret") });
  logger.warn(
    `NO AUTH CONFIGURED: accepting the web app's tokens (EdDSA, keys from ${DEVELOPMENT_JWKS_URL}) ` +
      "and HS256 tokens signed with a generated development secret " +
      "(`pnpm dev-token --sub <id> --email <email>`). Never run like this in production.",
  );
  return auth;
}
