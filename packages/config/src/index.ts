/**
 * The environment variables of both apps, on `@t3-oss/env-core`: each app composes its schema from
 * the shared variables below and its own, and `loadEnv` reads it. Every number has bounds; an
 * unset variable and an empty one mean the same; a bad configuration is one `ConfigError` with a
 * line per variable, never its value (some are secrets).
 *
 * Production rules are the default: only `NODE_ENV=development` (what `pnpm dev` sets) or `test`
 * (what the test runner sets) relaxes them.
 */
import { createEnv, type StandardSchemaV1 } from "@t3-oss/env-core";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A whole number within bounds, with a default. */
export const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\/.+/.test(value) && URL.canParse(value), {
    message: "must be a postgres:// or postgresql:// URL",
  });

export const httpUrl = z.url({ protocol: /^https?$/ });

/** The variables both apps read, with one meaning and one set of bounds. */
export const sharedVariables = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("production"),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_DRIVER: z.enum(["pg", "neon"]).optional(),
  DATABASE_POOL_MAX: integer(1, 1000, 10),
  DATABASE_TIMEOUT_MS: integer(100, 600_000, 10_000),
  /**
   * `enforce`: the database's row-level security keeps each user to their rows beneath the
   * scoped client, and the app refuses a role it would not bind. `off`: the scoped client alone.
   */
  ROW_LEVEL_SECURITY: z.enum(["enforce", "off"]).default("enforce"),
  /**
   * A role each transaction takes (`SET LOCAL ROLE`), where the login is not the bound role
   * itself: the policies then bind this role, but not the login, whose URL stays an owner's secret.
   */
  DATABASE_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a role name (lower case, digits, _)")
    .optional(),
  /**
   * Where the process LISTENs for changes, when `DATABASE_URL` cannot (PgBouncer in transaction
   * mode): a direct connection. Default: `DATABASE_URL` (Neon: its direct host).
   */
  DATABASE_LISTEN_URL: postgresUrl.optional(),
  /** Open live streams of one user per process; more get 429. */
  LIVE_STREAMS_PER_USER: integer(1, 1000, 10),
  /** Open live streams per process; more get 503 (0: no live updates, no listening connection). */
  LIVE_STREAMS_MAX: integer(0, 1_000_000, 10_000),
  /** How long changes are kept for streams that reconnect; from further back they refetch. */
  LIVE_RETENTION_SECONDS: integer(60, 7 * 86_400, 900),
  AUTH_USER_CACHE_SECONDS: integer(0, 3600, 60),
  /** Tokens issued longer ago than this are refused, whatever their `exp`. */
  AUTH_MAX_TOKEN_AGE_SECONDS: integer(60, 30 * 86_400, 86_400),
  /** Larger request bodies get 413. */
  BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024, 100 * 1024),
  /** The most tRPC calls one HTTP request may batch; more get 400. */
  BATCH_MAX_CALLS: integer(1, 100, 20),
  /** A request's deadline: no statement starts after it, and the caller gets 503. */
  REQUEST_TIMEOUT_MS: integer(100, 600_000, 10_000),
  /** API calls per minute of one signed-in user; more get 429 (0: no limit). */
  RATE_LIMIT_USER_PER_MINUTE: integer(0, 1_000_000, 600),
  /** API calls per minute from one client address without a valid token; more get 429 (0: no limit). */
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: integer(0, 1_000_000, 60),
  /** Proxies in front that append to X-Forwarded-For: the client address is the farthest one's entry. */
  RATE_LIMIT_TRUSTED_PROXIES: integer(0, 10, 0),
};

type Shape = Record<string, z.ZodType>;
type Parsed<T extends Shape> = z.infer<z.ZodObject<T>>;

/** A rule across variables: returns the problems it finds, as [variable(s), message]. */
export type Rule<T extends Shape> = (env: Parsed<T>) => [string, string][];

/** Reads `shape` from `source` and checks `rules`; throws one ConfigError naming every problem. */
export function loadEnv<T extends Shape>(
  shape: T,
  source: NodeJS.ProcessEnv = process.env,
  rules: Rule<T>[] = [],
): Parsed<T> {
  return createEnv({
    server: shape,
    // env-core deletes empty strings from the object it is given: give it a copy.
    runtimeEnv: { ...source },
    emptyStringAsUndefined: true,
    isServer: true,
    // The rules are reported with the per-variable problems, in one message.
    createFinalSchema: (final) =>
      z.object(final as T).superRefine((env, ctx) => {
        for (const [variable, message] of rules.flatMap((rule) => rule(env as Parsed<T>))) {
          ctx.addIssue({ code: "custom", path: [variable], message });
        }
      }),
    onValidationError(issues): never {
      throw new ConfigError(
        `Invalid configuration:\n${issues.map((issue) => `  ${name(issue)}: ${issue.message}`).join("\n")}`,
      );
    },
  }) as Parsed<T>;
}

function name(issue: StandardSchemaV1.Issue): string {
  return (issue.path ?? [])
    .map((segment) => (typeof segment === "object" ? String(segment.key) : String(segment)))
    .join(".");
}

/** Whether production rules are off: only when development or test is asked for by name. */
export const relaxed = (nodeEnv: "development" | "test" | "production") => nodeEnv !== "production";
