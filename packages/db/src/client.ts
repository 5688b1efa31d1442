import { Client as NeonClient } from "@neondatabase/serverless";
import { PrismaNeon } from "@prisma/adapter-neon";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { ListenConnection } from "./changes.ts";
import { openEmbedded } from "./embedded.ts";
import { PrismaClient } from "./generated/prisma/client.ts";
import { applyMigrations } from "./migrate.ts";
import { type MeasuredPool, measurePool, type PoolTarget } from "./pool-metrics.ts";
import { type DriverPool, enforceRowSecurity, type RowSecurityOptions } from "./row-security.ts";

/** The role the policies bind, as the `row_level_security` migration creates it. */
export const APP_ROLE = "tasks_app";

/** `url` (the owner's) as the app's role, which the row-level security policies bind. */
export function appRoleUrl(url: string): string {
  const app = new URL(url);
  app.username = APP_ROLE;
  app.password = "";
  return app.href;
}

export type Driver = "pg" | "neon" | "embedded";

export interface DbOptions {
  /** A `postgres://` URL. Absent: the embedded database under `.data/`. */
  url?: string;
  /** Overrides the driver picked from the URL (e.g. `neon` for a Neon proxy on a custom host). */
  driver?: "pg" | "neon";
  /** Most connections in the pool (default 10). */
  poolMax?: number;
  /** How long a connection may sit idle before it is closed (ms, default 10 000). */
  idleTimeoutMs?: number;
  /** How long to wait for a new connection (ms, default 5 000). */
  connectionTimeoutMs?: number;
  /**
   * Migrates the embedded database when this process opens it (default: in-process,
   * with the WebAssembly schema engine). Bundled servers, which cannot load the
   * engine's files, pass a way that runs outside the bundle.
   */
  migrateEmbedded?: (url: string) => Promise<unknown>;
  /** How long a query may wait for the server's answer before it fails (ms; no limit when unset). */
  queryTimeoutMs?: number;
  /**
   * `enforce` (the default): every statement of a user-scoped operation carries its user for
   * the database's row-level security, and `checkRowSecurity` wants a role the policies bind.
   * `off`: no setting is sent, and the role must be one the policies do not bind.
   */
  rowSecurity?: RowSecurityMode;
  /**
   * A role each transaction takes (`SET LOCAL ROLE`), where the connection logs in as another:
   * the embedded database, whose one session is its superuser's, takes the app's role this way.
   */
  role?: string;
  /**
   * Where the process LISTENs for changes: a connection that keeps its session. Default: `url`,
   * or for Neon its direct host (`url` without `-pooler`). Behind PgBouncer in transaction mode,
   * which cannot LISTEN, set PostgreSQL's own address.
   */
  listenUrl?: string;
}

export type RowSecurityMode = "enforce" | "off";

export interface Database {
  client: PrismaClient;
  driver: Driver;
  rowSecurity: RowSecurityMode;
  /** The embedded database's URL, to show to the user. Unset for a configured URL, which may hold a password. */
  embeddedUrl?: string;
  /** A new client for LISTEN, on its own connection (see `listenForChanges`). */
  listenClient(): ListenConnection;
  /** Disconnects the client and, for the embedded database, stops serving it. */
  close(): Promise<void>;
}

/** Neon's hosts speak its serverless (WebSocket) protocol. */
export function pickDriver(url: string): "pg" | "neon" {
  const { hostname } = new URL(url);
  return hostname === "neon.tech" || hostname.endsWith(".neon.tech") ? "neon" : "pg";
}

/** Creates the process's database client, choosing the driver adapter from the URL. */
export async function createDb(options: DbOptions = {}): Promise<Database> {
  if (!options.url) {
    // Migrated once, by whichever process opens it (the API or the web app under `pnpm dev`).
    const embedded = await openEmbedded(undefined, {
      prepare: options.migrateEmbedded ?? applyMigrations,
    });
    // One shared backend session: more connections would only queue behind each other. The
    // session is the superuser's (it migrated the database): each transaction of the app takes
    // the role the policies bind.
    const role = options.rowSecurity === "off" ? undefined : APP_ROLE;
    const client = connectPg(embedded.url, { ...options, poolMax: 1 }, role);
    return {
      client,
      driver: "embedded",
      rowSecurity: options.rowSecurity ?? "enforce",
      embeddedUrl: embedded.url,
      listenClient: () => pgListenClient(embedded.url, options),
      async close() {
        await client.$disconnect();
        await embedded.close();
      },
    };
  }
  const driver = options.driver ?? pickDriver(options.url);
  const client =
    driver === "neon" ? connectNeon(options.url, options) : connectPg(options.url, options);
  const listenUrl =
    options.listenUrl ?? (driver === "neon" ? neonDirectUrl(options.url) : options.url);
  return {
    client,
    driver,
    rowSecurity: options.rowSecurity ?? "enforce",
    listenClient: () =>
      driver === "neon"
        ? (new NeonClient(listenConfig(listenUrl, options)) as unknown as ListenConnection)
        : pgListenClient(listenUrl, options),
    close: () => client.$disconnect(),
  };
}

/** Neon's pooled host (`ep-…-pooler.…`) cannot LISTEN; its direct host is the same without `-pooler`. */
export function neonDirectUrl(url: string): string {
  const direct = new URL(url);
  direct.hostname = direct.hostname.replace(/^([^.]+)-pooler\./, "$1.");
  return direct.href;
}

function pgListenClient(connectionString: string, options: DbOptions): ListenConnection {
  return new pg.Client(listenConfig(connectionString, options)) as unknown as ListenConnection;
}

function listenConfig(connectionString: string, options: DbOptions) {
  return {
    connectionString,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    // Its periodic check fails rather than waits on a database that stopped answering.
    query_timeout: options.queryTimeoutMs ?? 10_000,
    keepAlive: true,
    // Named, for operators (and tests) who look for it in pg_stat_activity.
    application_name: "tasks-listener",
  };
}

function connectPg(connectionString: string, options: DbOptions, role?: string): PrismaClient {
  const config = poolConfig(connectionString, options);
  const pool = new pg.Pool(config);
  const settings = rowSettings(options, role);
  if (settings) enforceRowSecurity(pool as unknown as DriverPool, pg.Query as never, settings);
  measurePool(pool as unknown as MeasuredPool, poolTarget(config));
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}

type AdapterFactory = NonNullable<ConstructorParameters<typeof PrismaClient>[0]["adapter"]>;

function connectNeon(connectionString: string, options: DbOptions): PrismaClient {
  const config = poolConfig(connectionString, options);
  const neon = new PrismaNeon(config);
  const settings = rowSettings(options);
  // The adapter makes its pool when the client connects: take it there.
  const adapter: AdapterFactory = {
    provider: neon.provider,
    adapterName: neon.adapterName,
    async connect() {
      const connected = await neon.connect();
      const pool = connected.underlyingDriver() as DriverPool & MeasuredPool;
      if (settings) {
        enforceRowSecurity(pool, (NeonClient as unknown as { Query: never }).Query, settings);
      }
      measurePool(pool, poolTarget(config));
      return connected;
    },
  };
  return new PrismaClient({ adapter });
}

/** What each transaction sets: the operation's user unless row-level security is off, and the role. */
function rowSettings(options: DbOptions, defaultRole?: string): RowSecurityOptions | undefined {
  const role = options.role ?? defaultRole;
  const user = options.rowSecurity !== "off";
  return user || role ? { role, user } : undefined;
}

/** Where the pool connects, for its metrics: the URL's parts, without its user or password. */
function poolTarget(config: ReturnType<typeof poolConfig>): PoolTarget {
  const url = new URL(config.connectionString);
  return {
    database: decodeURIComponent(url.pathname.slice(1)) || "postgres",
    host: url.hostname,
    port: Number(url.port || 5432),
    max: config.max,
  };
}

/** node-postgres and Neon's driver take the same pool settings. */
function poolConfig(connectionString: string, options: DbOptions) {
  return {
    connectionString,
    max: options.poolMax ?? 10,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    // Client-side: a server that stops answering (or a network that drops packets) fails the
    // query instead of holding the request; the server-side statement_timeout could not.
    query_timeout: options.queryTimeoutMs,
  };
}

/** Why the app may not serve on this database connection: one line, for the operator. */
export class RowSecurityError extends Error {
  override name = "RowSecurityError";
}

/**
 * Checks that the database's row-level security applies as `database.rowSecurity` says: with
 * `enforce`, the policies are in place (on `users` and `tasks` with FORCE, on `task_changes`) and bind the app's role
 * (neither superuser nor BYPASSRLS); with `off`, they do not bind it (else it would see no rows).
 * Returns the role; throws a RowSecurityError otherwise.
 */
export async function checkRowSecurity(database: Database): Promise<string> {
  const [found] = await database.client.$queryRaw<
    { role: string; bypasses: boolean; forced: number }[]
  >`
    SELECT current_user::text AS role, (r.rolsuper OR r.rolbypassrls) AS bypasses,
      (SELECT count(*)::int FROM pg_class c
        WHERE c.relrowsecurity AND (c.oid = to_regclass('task_changes')
          OR c.oid IN (to_regclass('users'), to_regclass('tasks')) AND c.relforcerowsecurity)) AS forced
    FROM pg_roles r WHERE r.rolname = current_user`;
  const { role, bypasses, forced } = found ?? { role: "?", bypasses: false, forced: 0 };
  const bound = forced === 3 && !bypasses;
  if (database.rowSecurity === "enforce" && forced < 3) {
    throw new RowSecurityError(
      "Row-level security is not in place on users, tasks and task_changes: apply the migrations (pnpm db:deploy), or set ROW_LEVEL_SECURITY=off to rely on the scoped client alone.",
    );
  }
  if (database.rowSecurity === "enforce" && !bound) {
    throw new RowSecurityError(
      `The database role ${role} bypasses row-level security (superuser or BYPASSRLS): connect as ${APP_ROLE} (or a role granted it), or set ROW_LEVEL_SECURITY=off to rely on the scoped client alone.`,
    );
  }
  if (database.rowSecurity === "off" && bound) {
    throw new RowSecurityError(
      `ROW_LEVEL_SECURITY=off, but the policies bind the database role ${role}, which would then see no rows: connect as a role that bypasses them, or leave row-level security on.`,
    );
  }
  return role;
}
