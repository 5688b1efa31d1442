import type { AuthConfig, RateLimits } from "@tasks/api";
import {
  ConfigError,
  httpUrl,
  integer,
  loadEnv,
  type Rule,
  relaxed,
  sharedVariables,
} from "@tasks/config";
import { z } from "zod";

const variables = {
  ...sharedVariables,
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: integer(0, 65_535, 3000),
  DATABASE_STARTUP_WAIT_SECONDS: integer(0, 3600, 30),
  CORS_ORIGINS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(httpUrl))
    .optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  AUTH_JWKS_URL: httpUrl.optional(),
  AUTH_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_CLOCK_TOLERANCE_SECONDS: integer(0, 300, 5),
  AUTH_JWKS_TIMEOUT_MS: integer(100, 60_000, 5_000),
};

/** Rules across variables, reported with the per-variable problems. */
const rules: Rule<typeof variables>[] = [
  (env) =>
    env.AUTH_JWKS_URL && env.AUTH_JWT_SECRET
      ? [["AUTH_JWKS_URL and AUTH_JWT_SECRET", "set one of them, not both"]]
      : [],
  (env) =>
    !relaxed(env.NODE_ENV) && !env.AUTH_JWKS_URL && !env.AUTH_JWT_SECRET
      ? [["AUTH_JWKS_URL or AUTH_JWT_SECRET", "one is required in production"]]
      : [],
  // A key set is often shared by several apps: only this API's tokens may pass.
  (env) =>
    !relaxed(env.NODE_ENV) && env.AUTH_JWKS_URL
      ? (["AUTH_ISSUER", "AUTH_AUDIENCE"] as const)
          .filter((name) => !env[name])
          .map((name) => [name, "required in production with AUTH_JWKS_URL"])
      : [],
];

export { ConfigError };
export type Env = ReturnType<typeof loadEnv<typeof variables>>;

const DEVELOPMENT_WEB_ORIGINS = ["http://localhost:3001", "http://127.0.0.1:3001"];

export interface Config {
  env: Env["NODE_ENV"];
  host: string;
  port: number;
  database: {
    url?: string;
    driver?: "pg" | "neon";
    poolMax: number;
    rowSecurity: "enforce" | "off";
    role?: string;
    listenUrl?: string;
    /** How long a connection attempt or a query may take before the request gets a 503. */
    timeoutMs: number;
    /** How long to keep retrying at start while the database is unreachable. */
    startupWaitMs: number;
  };
  corsOrigins: string[];
  logLevel: Env["LOG_LEVEL"];
  bodyLimitBytes: number;
  /** The most tRPC calls one request may batch. */
  batchMaxCalls: number;
  /** A request's deadline (ms): PostgreSQL cancels its statements at it, and the caller gets 503. */
  requestTimeoutMs: number;
  /** Calls per minute of each user and of each address without a valid token (0: no limit). */
  rateLimits: RateLimits & {
    /** Proxies in front that append to X-Forwarded-For (0: the socket's peer is the client). */
    trustedProxies: number;
  };
  /** Live streams: limits and the retention window (ms); `maxStreams` 0 turns them off. */
  live: { perUser: number; maxStreams: number; retentionMs: number };
  /** Absent only in development, where the web app's Better Auth and a generated secret stand in. */
  auth: AuthConfig | undefined;
  /**
   * How long a user seen to exist is trusted without asking the database (ms):
   * an account deleted by another process is refused at the latest this long after.
   */
  knownUserTtlMs: number;
}

/** Reads the configuration from the environment, naming every variable that is wrong. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = loadEnv(variables, source, rules);
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    database: {
      url: env.DATABASE_URL,
      driver: env.DATABASE_DRIVER,
      poolMax: env.DATABASE_POOL_MAX,
      rowSecurity: env.ROW_LEVEL_SECURITY,
      role: env.DATABASE_ROLE,
      listenUrl: env.DATABASE_LISTEN_URL,
      timeoutMs: env.DATABASE_TIMEOUT_MS,
      startupWaitMs: env.DATABASE_STARTUP_WAIT_SECONDS * 1000,
    },
    // In development the web app (`pnpm dev`, port 3001) may call the API without configuration.
    corsOrigins: env.CORS_ORIGINS ?? (relaxed(env.NODE_ENV) ? DEVELOPMENT_WEB_ORIGINS : []),
    logLevel: env.LOG_LEVEL,
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
    },
    auth: authConfig(env),
    knownUserTtlMs: env.AUTH_USER_CACHE_SECONDS * 1000,
  };
}

/** Where `pnpm dev` serves the web app, whose Better Auth issues the users' tokens. */
const DEVELOPMENT_WEB_URL = "http://localhost:3001";
export const DEVELOPMENT_JWKS_URL = `${DEVELOPMENT_WEB_URL}/api/auth/jwks`;

/**
 * Token checks in development when none are configured: the web app's Better
 * Auth (sign-up in the browser) and a local HS256 secret (`pnpm dev-token`, for
 * curl). Each takes only its own algorithms, so neither can pose as the other.
 */
export function developmentAuth({
  secret,
  webUrl = DEVELOPMENT_WEB_URL,
}: {
  secret: string;
  webUrl?: string;
}): AuthConfig[] {
  const { origin } = new URL(webUrl);
  return [
    {
      mode: "jwks",
      jwksUrl: new URL("/api/auth/jwks", origin),
      issuer: origin,
      audience: origin,
    },
    { mode: "secret", secret },
  ];
}

function authConfig(env: Env): AuthConfig | undefined {
  const common = {
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    clockToleranceSeconds: env.AUTH_CLOCK_TOLERANCE_SECONDS,
    jwksTimeoutMs: env.AUTH_JWKS_TIMEOUT_MS,
    maxTokenAgeSeconds: env.AUTH_MAX_TOKEN_AGE_SECONDS,
  };
  if (env.AUTH_JWKS_URL) return { mode: "jwks", jwksUrl: new URL(env.AUTH_JWKS_URL), ...common };
  if (env.AUTH_JWT_SECRET) return { mode: "secret", secret: env.AUTH_JWT_SECRET, ...common };
  return undefined;
}
