import { developmentSecret } from "@tasks/auth/dev-secret";
import type { DbOptions } from "@tasks/db";
import { z } from "zod";

/** An unset variable and an empty one mean the same. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\/.+/.test(value) && URL.canParse(value), {
    message: "must be a postgres:// or postgresql:// URL",
  });

const httpUrl = z.url({ protocol: /^https?$/ });

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    DATABASE_URL: optional(postgresUrl),
    DATABASE_DRIVER: optional(z.enum(["pg", "neon"])),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
    DATABASE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    BETTER_AUTH_SECRET: optional(z.string().min(32, "must be at least 32 characters")),
    BETTER_AUTH_URL: optional(httpUrl),
    API_URL: optional(z.union([httpUrl, z.literal("/api/trpc")])),
    AUTH_USER_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== "production") return;
    for (const name of ["BETTER_AUTH_SECRET", "BETTER_AUTH_URL", "DATABASE_URL"] as const) {
      if (!env[name])
        ctx.addIssue({ code: "custom", path: [name], message: "required in production" });
    }
  });

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
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the web app's configuration, naming every variable that is wrong (never its value). */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): WebConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join(".")}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}`);
  }
  const env = parsed.data;
  const development = env.NODE_ENV !== "production";
  const baseURL = env.BETTER_AUTH_URL ?? DEVELOPMENT_URL;
  return {
    database: {
      url: env.DATABASE_URL,
      driver: env.DATABASE_DRIVER,
      poolMax: env.DATABASE_POOL_MAX,
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
