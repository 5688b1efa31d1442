/** Test support: real keys, a JWKS endpoint on loopback, and the real API server on a fresh database. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type AppRouter,
  type AuthConfig,
  createApiRateLimiter,
  createTokenVerifier,
  type LiveService,
  type RateLimits,
  startLiveChanges,
} from "@tasks/api";
import { checkRowSecurity, type Database, type PrismaClient } from "@tasks/db";
import {
  appUrl,
  connectTestDb,
  createTestDatabase,
  setDatabaseDefaults,
  type TestDatabase,
} from "@tasks/db/testing";
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
} from "@trpc/client";
import { EventSource } from "eventsource";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import superjson from "superjson";
import { afterAll, beforeAll } from "vitest";
import { createLogger, type Logger } from "../src/logger.ts";
import { createApiServer } from "../src/server.ts";
import { startPgBouncer } from "./pgbouncer.ts";

export const SECRET = "test-secret-that-is-long-enough-for-hs256!";
export const ISSUER = "https://issuer.test";
export const AUDIENCE = "tasks-api";

/** An Ed25519 key pair whose public half is published as a JWKS on loopback. */
export async function startJwks() {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const kid = "test-key-1";
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  const url = await listen(server);
  return {
    url: `${url}/.well-known/jwks.json`,
    kid,
    publicJwk: jwk,
    privateKey,
    close: () => close(server),
  };
}

export type Jwks = Awaited<ReturnType<typeof startJwks>>;

export interface SignOptions {
  alg?: string;
  kid?: string;
  key?: Parameters<SignJWT["sign"]>[0];
  expiresIn?: string | number;
  notBefore?: string | number;
  issuer?: string;
  audience?: string;
}

/** A token signed with real keys: the JWKS private key for EdDSA, the shared secret for HS256. */
export function signToken(claims: JWTPayload, options: SignOptions & { jwks?: Jwks } = {}) {
  const alg = options.alg ?? (options.jwks ? "EdDSA" : "HS256");
  const key =
    options.key ?? (alg === "HS256" ? new TextEncoder().encode(SECRET) : options.jwks?.privateKey);
  if (!key) throw new Error("no key to sign with");
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, kid: options.kid ?? (options.jwks ? options.jwks.kid : undefined) })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expiresIn ?? "5m");
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(key);
}

/**
 * The rate limits of the test servers: on (every call is counted and settled with the database,
 * through PgBouncer too), and far above any test's load; the rate limit tests set their own.
 */
export const TEST_RATE_LIMITS: RateLimits = {
  userPerMinute: 1_000_000_000,
  anonymousPerMinute: 1_000_000_000,
};

export interface TestApi {
  url: string;
  /** The owner's client, which row-level security does not bind: for a test's setup and checks. */
  db: PrismaClient;
  /** The API's own client, as the role the policies bind. */
  app: PrismaClient;
  /** Where the API's database connections go. */
  databaseUrl: string;
  client(
    token?: string,
    options?: { batch?: boolean; fetch?: typeof fetch; maxItems?: number },
  ): ReturnType<typeof createTRPCClient<AppRouter>>;
  /** The process's live streams; null when started without. */
  live: LiveService | null;
  stop(): Promise<void>;
}

/**
 * The API server verifying tokens as `auth` says, on a fresh database or on
 * `databaseUrl` (shared with an identity provider under test).
 */
export async function startTestApi(
  auth: AuthConfig | AuthConfig[],
  {
    databaseUrl,
    knownUserTtlMs = 60_000,
    requestTimeoutMs = 10_000,
    databaseDefaults,
    rateLimits = TEST_RATE_LIMITS,
    onRateLimitStoreError,
    rowSecurity = "enforce",
    live: liveLimits = {},
    logger = createLogger("silent"),
  }: {
    databaseUrl?: string;
    knownUserTtlMs?: number;
    requestTimeoutMs?: number;
    /** Settings of the fresh database (e.g. its `app.task_quota`), before the API connects. */
    databaseDefaults?: Record<string, string>;
    rateLimits?: RateLimits;
    onRateLimitStoreError?: (reason: string) => void;
    /** `off`: the API connects as the owner and sends no user setting (the scoped client alone). */
    rowSecurity?: "enforce" | "off";
    /** Live streams' limits (false: none served). */
    live?: { perUser?: number; total?: number; retentionMs?: number } | false;
    logger?: Logger;
  } = {},
): Promise<TestApi> {
  const testDb: TestDatabase | undefined = databaseUrl ? undefined : await createTestDatabase();
  const directUrl = databaseUrl ?? (testDb as TestDatabase).url;
  if (testDb && databaseDefaults) await setDatabaseDefaults(testDb.url, databaseDefaults);
  // The `pgbouncer` test project runs the API suite through PgBouncer in transaction mode.
  // The API connects as the app's role (PgBouncer too), the test's own checks as the owner.
  const as = rowSecurity === "off" ? "owner" : "app";
  const bouncer = process.env.TEST_VIA_PGBOUNCER
    ? await startPgBouncer(as === "app" ? appUrl(directUrl) : directUrl)
    : undefined;
  // PgBouncer's transaction mode cannot LISTEN: the API listens on the database itself.
  const database: Database = await connectTestDb(bouncer?.url ?? directUrl, {
    as,
    listenUrl: bouncer ? directUrl : undefined,
  });
  const owner: Database = await connectTestDb(directUrl, { as: "owner" });
  await checkRowSecurity(database);
  const rateLimiter = createApiRateLimiter(database.client, rateLimits, {
    onStoreError: onRateLimitStoreError,
  });
  const live: LiveService | null =
    liveLimits === false
      ? null
      : startLiveChanges(database, {
          perUser: liveLimits.perUser ?? 10,
          total: liveLimits.total ?? 1_000,
          retentionMs: liveLimits.retentionMs ?? 900_000,
          readTimeoutMs: 10_000,
        });
  await live?.ready;
  const server = createApiServer({
    config: {
      corsOrigins: ["http://app.test"],
      bodyLimitBytes: 100 * 1024,
      batchMaxCalls: 20,
      knownUserTtlMs,
      requestTimeoutMs,
    },
    database,
    verifyToken: createTokenVerifier(...[auth].flat()),
    rateLimiter,
    live: live?.live ?? null,
    logger,
  });
  const url = await listen(server);
  return {
    url,
    db: owner.client,
    app: database.client,
    databaseUrl: bouncer?.url ?? directUrl,
    client(token, { batch = true, fetch, maxItems } = {}) {
      const options = {
        url: `${url}/trpc`,
        transformer: superjson,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
        ...(fetch ? { fetch } : {}),
      };
      const link = batch ? httpBatchLink({ ...options, maxItems }) : httpLink(options);
      return createTRPCClient<AppRouter>({
        links: [
          splitLink({
            condition: (op) => op.type === "subscription",
            true: liveLink(`${url}/trpc`, () => token),
            false: link,
          }),
        ],
      });
    },
    live,
    async stop() {
      await live?.close();
      await close(server);
      await rateLimiter?.close();
      await database.close();
      await owner.close();
      await bouncer?.stop();
      await testDb?.drop();
    },
  };
}

/**
 * Subscriptions over server-sent events, with the token in the Authorization header of every
 * (re)connection (EventSource itself cannot send headers; the `eventsource` ponyfill can).
 */
export function liveLink(url: string, token: () => string | undefined) {
  return httpSubscriptionLink({
    url,
    transformer: superjson,
    EventSource,
    eventSourceOptions: () => ({
      fetch: (input, init) => {
        const current = token();
        return fetch(input, {
          ...init,
          headers: { ...init?.headers, ...(current ? { authorization: `Bearer ${current}` } : {}) },
        });
      },
    }),
  });
}

export function authConfigs(jwks: Jwks): Record<"jwks" | "secret", AuthConfig> {
  return {
    jwks: { mode: "jwks", jwksUrl: new URL(jwks.url), issuer: ISSUER, audience: AUDIENCE },
    secret: { mode: "secret", secret: SECRET, issuer: ISSUER, audience: AUDIENCE },
  };
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((done) => server.close(() => done()));
}

/** Every row of the database as JSON text, to prove that nothing changed. */
export async function snapshot(db: PrismaClient): Promise<string> {
  const [users, tasks] = await Promise.all([
    db.$queryRaw`SELECT row_to_json(u)::text AS row FROM users u ORDER BY id`,
    db.$queryRaw`SELECT row_to_json(t)::text AS row FROM tasks t ORDER BY id`,
  ]);
  return JSON.stringify({ users, tasks });
}

/**
 * Starts a JWKS endpoint and the API (verifying tokens by `mode`) before the
 * calling file's tests, and stops both after them.
 */
export function useTestApi(mode: "jwks" | "secret") {
  const setup = {} as { api: TestApi; jwks: Jwks };
  beforeAll(async () => {
    setup.jwks = await startJwks();
    setup.api = await startTestApi(authConfigs(setup.jwks)[mode]);
  });
  afterAll(async () => {
    await setup.api?.stop();
    await setup.jwks?.close();
  });
  return setup;
}

/** Rate-limit windows are whole minutes: a test that counts starts well inside one, never at its edge. */
export async function awayFromWindowEdge(needMs: number) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
