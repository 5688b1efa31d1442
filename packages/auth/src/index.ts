import type { PrismaClient } from "@tasks/db";
import { type BetterAuthPlugin, betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { jwt } from "better-auth/plugins";

export interface AuthOptions {
  /** The database client; Better Auth's tables are in the same database as the API's. */
  db: PrismaClient;
  /** Where the web app is served (e.g. `https://tasks.example.com`): the issuer and audience of its tokens. */
  baseURL: string;
  /** Signs session cookies and encrypts the JWT signing keys: at least 32 characters. */
  secret: string;
  /** Other origins allowed to call the auth endpoints (the base URL's origin always is). */
  trustedOrigins?: string[];
  /** Removes a user's data elsewhere, once Better Auth has deleted the user. */
  onUserDeleted(userId: string): Promise<void>;
  /** Copies a new display name elsewhere, once Better Auth has stored it. */
  onUserRenamed(userId: string, name: string): Promise<void>;
  /** Framework integration, e.g. `nextCookies()`. */
  plugins?: BetterAuthPlugin[];
  /** Where Better Auth's log lines go (warnings and errors); its own console lines otherwise. */
  log?: (level: "debug" | "info" | "warn" | "error", message: string) => void;
}

/** How long an API token lives; the web app fetches a new one before it expires. */
export const TOKEN_LIFETIME = "15m";

/**
 * Better Auth for this system: email and password accounts, sessions, and
 * short-lived EdDSA JWTs for the API, whose keys it publishes at `/api/auth/jwks`.
 */
export function createAuth(options: AuthOptions) {
  const origin = new URL(options.baseURL).origin;
  return betterAuth({
    appName: "Tasks",
    baseURL: origin,
    secret: options.secret,
    trustedOrigins: options.trustedOrigins,
    telemetry: { enabled: false },
    ...(options.log && { logger: { log: options.log } }),
    database: prismaAdapter(options.db, { provider: "postgresql", transaction: true }),
    emailAndPassword: { enabled: true, minPasswordLength: 8, maxPasswordLength: 128 },
    // The model names of prisma/schema.prisma: our own `User` is the API's.
    user: {
      modelName: "authUser",
      deleteUser: {
        enabled: true,
        // Better Auth deletes its user (and so every way to sign in) first; only
        // then goes the data. Should that fail, what is left can sign in no more.
        afterDelete: (user) => options.onUserDeleted(user.id),
      },
    },
    databaseHooks: {
      user: {
        update: {
          after: async (user) => {
            if (typeof user.name === "string") await options.onUserRenamed(user.id, user.name);
          },
        },
      },
    },
    session: { modelName: "authSession" },
    account: { modelName: "authAccount" },
    verification: { modelName: "authVerification" },
    // On in every environment, counted in the database so that every instance shares the counts.
    rateLimit: { enabled: true, storage: "database", modelName: "authRateLimit" },
    plugins: [
      jwt({
        jwks: { keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } },
        jwt: {
          issuer: origin,
          audience: origin,
          expirationTime: TOKEN_LIFETIME,
          // The claims the API reads (OpenID names); `sub` is Better Auth's user id.
          definePayload: ({ user }) => ({
            email: user.email,
            email_verified: user.emailVerified,
            name: user.name,
            picture: user.image ?? undefined,
          }),
        },
        schema: { jwks: { modelName: "authJwks" } },
      }),
      ...(options.plugins ?? []),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
