import type { AuthConfig } from "@tasks/api";
import { z } from "zod";

/** An unset variable and an empty one mean the same. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\/.+/.test(value) && URL.canParse(value), {
    message: "must be a postgres:// or postgresql:// URL",
  });

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    DATABASE_URL: optional(postgresUrl),
    DATABASE_DRIVER: z.enum(["pg", "neon"]).optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
    DATABASE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    DATABASE_STARTUP_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    CORS_ORIGINS: optional(
      z
        .string()
        .transform((value) =>
          value
            .split(",")
            .map((origin) => origin.trim())
            .filter(Boolean),
        )
        .pipe(z.array(z.url({ protocol: /^https?$/ }))),
    ),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(100 * 1024),
    AUTH_JWKS_URL: optional(z.url({ protocol: /^https?$/ })),
    AUTH_JWT_SECRET: optional(z.string().min(32, "must be at least 32 characters")),
    AUTH_ISSUER: optional(z.string()),
    AUTH_AUDIENCE: optional(z.string()),
    AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
    AUTH_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    AUTH_USER_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  })
  // Rules across variables, reported with the per-variable problems.
  .superRefine((env, ctx) => {
    if (env.AUTH_JWKS_URL && env.AUTH_JWT_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWKS_URL and AUTH_JWT_SECRET"],
        message: "set one of them, not both",
      });
    }
    if (env.NODE_ENV === "production" && !env.AUTH_JWKS_URL && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWKS_URL or AUTH_JWT_SECRET"],
        message: "one is required in production",
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

const DEVELOPMENT_WEB_ORIGINS = ["http://localhost:3001", "http://127.0.0.1:3001"];

export interface Config {
  env: Env["NODE_ENV"];
  host: string;
  port: number;
  database: {
    url?: string;
    driver?: "pg" | "neon";
    poolMax: number;
    /** How long a connection attempt or a query may take before the request gets a 503. */
    timeoutMs: number;
    /** How long to keep retrying at start while the database is unreachable. */
    startupWaitMs: number;
  };
  corsOrigins: string[];
  logLevel: Env["LOG_LEVEL"];
  bodyLimitBytes: number;
  /** Absent only in development, where the web app's Better Auth and a generated secret stand in. */
  auth: AuthConfig | undefined;
  /**
   * How long a user seen to exist is trusted without asking the database (ms):
   * an account deleted by another process is refused at the latest this long after.
   */
  knownUserTtlMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the configuration from the environment, naming every variable that is wrong. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    // Values are never echoed: some of these variables are secrets.
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join(".")}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}`);
  }
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    database: {
      url: env.DATABASE_URL,
      driver: env.DATABASE_DRIVER,
      poolMax: env.DATABASE_POOL_MAX,
      timeoutMs: env.DATABASE_TIMEOUT_MS,
      startupWaitMs: env.DATABASE_STARTUP_WAIT_SECONDS * 1000,
    },
    // In development the web app (`pnpm dev`, port 3001) may call the API without configuration.
    corsOrigins: env.CORS_ORIGINS ?? (env.NODE_ENV === "production" ? [] : DEVELOPMENT_WEB_ORIGINS),
    logLevel: env.LOG_LEVEL,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    auth: authConfig(env),
    knownUserTtlMs: env.AUTH_USER_CACHE_SECONDS * 1000,
  };
}

/** Where `pnpm dev` serves the web app, whose Better Auth issues the users' tokens. */
const DEVELOPMENT_WEB_URL = "http://localhost:3001";
export const DEVELOPMENT_JWKS_URL = `${DEVELOPMENT_WEB_URL}/api/auth/jwks`;

/**
 * Token checks in development when none are configured: the web app's Better
 * Auth (sign-up in the browser) and a local HS256 secret (`pnpm token`, for
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
  };
  if (env.AUTH_JWKS_URL) return { mode: "jwks", jwksUrl: new URL(env.AUTH_JWKS_URL), ...common };
  if (env.AUTH_JWT_SECRET) return { mode: "secret", secret: env.AUTH_JWT_SECRET, ...common };
  return undefined;
}
