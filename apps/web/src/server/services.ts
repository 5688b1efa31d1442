import {
  type Accounts,
  type Context,
  createAccounts,
  createApiRateLimiter,
  createContextFactory,
  createTokenVerifier,
  type LiveService,
  type RateLimiter,
  startLiveChanges,
  type VerifyToken,
} from "@tasks/api";
import { type Auth, createAuth } from "@tasks/auth";
import { checkRowSecurity, createDb, type Database } from "@tasks/db";
import { nextCookies } from "better-auth/next-js";
import { loadConfig, type WebConfig } from "../env.ts";
import { authLog, log } from "./log.ts";
import { migrateWithPrismaCli } from "./migrate.ts";

/** What the app's server shares across requests: one database, Better Auth, the API's parts. */
export interface Services {
  config: WebConfig;
  database: Database;
  auth: Auth;
  /** Provisions users for the API; also deletes their data when Better Auth deletes them. */
  accounts: Accounts;
  /** The API context of a request to this app's API route, from its Better Auth JWT. */
  createApiContext(request: { authorization?: string }): Promise<Context>;
  /** Checks the Better Auth JWTs of calls to this app's API. */
  verifyToken: VerifyToken;
  /** Counts calls to this app's API (shared with every instance through the database); null: off. */
  rateLimiter: RateLimiter | null;
}

/**
 * Created on first use (building the app must not open a database), once per
 * bundle: Next bundles route handlers and server components apart, each with its
 * own copy of the API's modules, whose errors are recognised by class. Sharing
 * one instance across bundles (e.g. on globalThis) would mix the copies.
 */
let started: Promise<Services> | undefined;

export function services(): Promise<Services> {
  started ??= start().catch((error: unknown) => {
    started = undefined;
    throw error;
  });
  return started;
}

async function start(): Promise<Services> {
  const config = loadConfig();
  const database = await createDb({ ...config.database, migrateEmbedded: migrateWithPrismaCli });
  try {
    await checkRowSecurity(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  const accounts = createAccounts(database.client, { knownTtlMs: config.knownUserTtlMs });
  const auth = createAuth({
    db: database.client,
    ...config.auth,
    onUserDeleted: async (userId) => {
      await accounts.delete(userId);
    },
    onUserRenamed: (userId, name) => accounts.rename(userId, name),
    plugins: [nextCookies()],
    log: authLog,
  });
  const { origin } = new URL(config.auth.baseURL);
  const verifyToken = createTokenVerifier({
    mode: "jwks",
    jwksUrl: new URL("/api/auth/jwks", origin),
    issuer: origin,
    audience: origin,
    maxTokenAgeSeconds: config.maxTokenAgeSeconds,
  });
  // The live streams of this app's API (LIVE_STREAMS_MAX=0: none) start with its first call: the
  // server components' copy of these services never serves one, and needs no LISTEN connection.
  let apiContext: ReturnType<typeof createContextFactory> | undefined;
  const createApiContext: Services["createApiContext"] = (request) => {
    apiContext ??= createContextFactory({
      db: database.client,
      verifyToken,
      accounts,
      live: config.live.maxStreams > 0 ? startLive(database, config).live : null,
    });
    return apiContext(request);
  };
  const rateLimiter = createApiRateLimiter(database.client, config.rateLimits, {
    // The reason's message only, never the error (its fields could hold the connection string).
    onStoreError: (reason) =>
      log.warn(`Rate limit store unavailable (${reason}); limiting per instance.`),
    onStoreRecovered: () => log.warn("Rate limit store available again."),
  });
  return { config, database, auth, accounts, createApiContext, verifyToken, rateLimiter };
}

function startLive(database: Database, config: WebConfig): LiveService {
  return startLiveChanges(database, {
    perUser: config.live.perUser,
    total: config.live.maxStreams,
    retentionMs: config.live.retentionMs,
    readTimeoutMs: config.database.queryTimeoutMs ?? config.requestTimeoutMs,
    // The reason's message only, never the error (its fields could hold the connection string).
    onListenerFailure: (reason, retryInMs) =>
      log.warn(`Listening for changes failed (${reason}); live streams wait ${retryInMs} ms.`),
    onListening: () => log.info("Listening for changes."),
    onPruneFailure: (reason) => log.warn(`Pruning the changes log failed (${reason}).`),
  });
}
