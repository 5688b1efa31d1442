import { developmentSecret } from "@tasks/auth/dev-secret";
import {
  ConfigError,
  httpUrl,
  integer,
  loadEnv,
  type Rule,
  relaxed,
  sharedVariables,
} from "@tasks/config";
import type { DbOptions } from "@tasks/db";
import { z } from "zod";

const variables = {
  ...sharedVariables,
  BETTER_AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  BETTER_AUTH_URL: httpUrl.optional(),
  API_URL: z.union([httpUrl, z.literal("/api/trpc")]).optional(),
  /**
   * How long a live stream of this app's own API may last before it is ended (the browser then
   * reconnects and resumes): serverless platforms cut longer responses. 0: no limit.
   */
  LIVE_STREAM_MAX_SECONDS: integer(0, 86_400, 300),
};

const rules: Rule<typeof variables>[] = [
  (env) =>
    relaxed(env.NODE_ENV)
      ? []
      : (["BETTER_AUTH_SECRET", "BETTER_AUTH_URL", "DATABASE_URL"] as const)
          .filter((name) => !env[name])
          .map((name) => [name, "required in production"]),
];

/** Where `pnpm dev` serves the web app and the API. */
const DEVELOPMENT_URL = "http://localhost:3001";
const DEVELOPMENT_API_URL = "http://127.0.0.1:3000/trpc";
/** The app's own tRPC endpoint: the API served by this app (the serverless shape). */
export const OWN_API_PATH = "/api/trpc";

export interface WebConfig {
  database: DbOptions;
  auth: { baseURL: string; secret: string; trustedOrigins: string[] };
  /** The tRPC endpoint the browser calls: the API server, or this app's own route. */
  apiUrl: string;
  /** How long this app's API trusts that a user it has seen still exists (ms). */
  knownUserTtlMs: number;
  /** Tokens issued longer ago are refused by this app's API (seconds). */
  maxTokenAgeSeconds: number;
  /** Larger request bodies to this app's API get 413. */
  bodyLimitBytes: number;
  /** The most tRPC calls one request may batch; the browser's client splits at the same size. */
  batchMaxCalls: number;
  /** A request's deadline (ms): PostgreSQL cancels its statements at it, and the caller gets 503. */
  requestTimeoutMs: number;
  /** Calls per minute to this app's API of each user and of each address without a valid token. */
  rateLimits: { userPerMinute: number; anonymousPerMinute: number; trustedProxies: number };
  /**
   * Live streams of this app's API: limits, the changes log's retention (ms) and how long one
   * response may stream (ms, 0: no limit); `maxStreams` 0 turns them off.
   */
  live: { perUser: number; maxStreams: number; retentionMs: number; streamMaxMs: number };
}

export { ConfigError };

/** Reads the web app's configuration, naming every variable that is wrong (never its value). */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): WebConfig {
  const env = loadEnv(variables, source, rules);
  const development = relaxed(env.NODE_ENV);
  const baseURL = env.BETTER_AUTH_URL ?? DEVELOPMENT_URL;
  return {
    database: {
      url: env.DATABASE_URL,
      driver: env.DATABASE_DRIVER,
      poolMax: env.DATABASE_POOL_MAX,
      rowSecurity: env.ROW_LEVEL_SECURITY,
      role: env.DATABASE_ROLE,
      listenUrl: env.DATABASE_LISTEN_URL,
      // As the API server: a database that stops answering fails the request (503), never holds it.
      connectionTimeoutMs: env.DATABASE_TIMEOUT_MS,
      queryTimeoutMs: env.DATABASE_TIMEOUT_MS,
    },
    auth: {
      baseURL,
      secret: env.BETTER_AUTH_SECRET ?? generatedSecret(),
      // In development the app is as often opened on 127.0.0.1 as on localhost.
      trustedOrigins: development && !env.BETTER_AUTH_URL ? ["http://127.0.0.1:3001"] : [],
    },
    apiUrl: env.API_URL ?? (development ? DEVELOPMENT_API_URL : OWN_API_PATH),
    knownUserTtlMs: env.AUTH_USER_CACHE_SECONDS * 1000,
    maxTokenAgeSeconds: env.AUTH_MAX_TOKEN_AGE_SECONDS,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    batchMaxCalls: env.BATCH_MAX_CALLS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    rateLimits: {
      userPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
      anonymousPerMinute: env.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      trustedProxies: env.RATE_LIMIT_TRUSTED_PROXIES,
    },
    live: {
      perUser: env.LIVE_STREAMS_PER_USER,
      maxStreams: env.LIVE_STREAMS_MAX,
      retentionMs: env.LIVE_RETENTION_SECONDS * 1000,
      streamMaxMs: env.LIVE_STREAM_MAX_SECONDS * 1000,
    },
  };
}

let warned = false;

/** Only ever reached outside production: the schema requires the secret there. */
function generatedSecret(): string {
  if (!warned) {
    warned = true;
    console.warn(
      "NO BETTER_AUTH_SECRET: using a development secret generated into .data/dev-auth-secret. " +
        "Never run like this in production.",
    );
  }
  return developmentSecret("dev-auth-secret");
}
