import { PrismaNeon } from "@prisma/adapter-neon";
import { PrismaPg } from "@prisma/adapter-pg";
import { openEmbedded } from "./embedded.ts";
import { PrismaClient } from "./generated/prisma/client.ts";
import { applyMigrations } from "./migrate.ts";

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
}

export interface Database {
  client: PrismaClient;
  driver: Driver;
  /** The embedded database's URL, to show to the user. Unset for a configured URL, which may hold a password. */
  embeddedUrl?: string;
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
    // One shared backend session: more connections would only queue behind each other.
    const client = connectPg(embedded.url, { ...options, poolMax: 1 });
    return {
      client,
      driver: "embedded",
      embeddedUrl: embedded.url,
      async close() {
        await client.$disconnect();
        await embedded.close();
      },
    };
  }
  const driver = options.driver ?? pickDriver(options.url);
  const client =
    driver === "neon" ? connectNeon(options.url, options) : connectPg(options.url, options);
  return { client, driver, close: () => client.$disconnect() };
}

function connectPg(connectionString: string, options: DbOptions): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(poolConfig(connectionString, options)) });
}

function connectNeon(connectionString: string, options: DbOptions): PrismaClient {
  return new PrismaClient({ adapter: new PrismaNeon(poolConfig(connectionString, options)) });
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
