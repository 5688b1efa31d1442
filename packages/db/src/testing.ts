/**
 * Test support: a fresh, migrated database per test file, and a client on it
 * through the driver under test (`TEST_DRIVER=neon` routes Neon's serverless
 * driver to the local PostgreSQL over a loopback WebSocket proxy).
 */
import { connect } from "node:net";
import { neonConfig } from "@neondatabase/serverless";
import { pristineDataDir } from "@tasks/schema-engine/pglite";
import {
  createScratchDatabase,
  query,
  type ScratchDatabase,
  testServerUrl,
} from "@tasks/schema-engine/testing";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import ws, { WebSocketServer } from "ws";
import { APP_ROLE, appRoleUrl, createDb, type Database } from "./client.ts";
import { serveEmbedded } from "./embedded.ts";
import { scopeRewriting } from "./scoped.ts";

export { asRowOwner } from "./row-security.ts";

import { applyMigrations } from "./migrate.ts";

export type TestDatabase = ScratchDatabase;
export { query, testServerUrl };

/** Creates a database of its own (migrated unless told otherwise) for one test file. */
export async function createTestDatabase({ migrate = true } = {}): Promise<TestDatabase> {
  const database = testServerUrl() ? await createScratchDatabase() : await createEmbedded();
  if (migrate) await applyMigrations(database.url);
  return database;
}

/** An in-memory embedded database, served as the app serves its own, from a pristine copy. */
async function createEmbedded(): Promise<TestDatabase> {
  const server = await serveEmbedded({ loadDataDir: await pristineDataDir() });
  return { url: server.url, drop: () => server.close() };
}

/**
 * Gives the calling test file a migrated database of its own and two clients on it, through the
 * driver under test: the app's (as the role the row-level security policies bind) and the
 * owner's (which they do not bind, for a test's own setup and checks). All are closed after the
 * file's tests.
 */
export function useTestDb() {
  let database: TestDatabase | undefined;
  let connection: Database | undefined;
  let owner: Database | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    connection = await connectTestDb(database.url);
    owner = await connectTestDb(database.url, { as: "owner" });
  });
  afterAll(async () => {
    await connection?.close();
    await owner?.close();
    await database?.drop();
  });
  const ready = (connected = connection) => {
    if (!connected)
      throw new Error("useTestDb: the database is ready only inside tests and hooks.");
    return connected;
  };
  return {
    /** The app's client: every user's rows are invisible to it but through a scoped client. */
    get client() {
      return ready().client;
    },
    /** The owner's client, which row-level security does not bind. */
    get owner() {
      return ready(owner).client;
    },
    get driver() {
      return ready().driver;
    },
    /** The app's whole connection (its LISTEN client, …). */
    get database() {
      return ready();
    },
    /** The database's URL, for connections of a test's own. */
    get url() {
      if (!database)
        throw new Error("useTestDb: the database is ready only inside tests and hooks.");
      return database.url;
    },
  };
}

/**
 * Turns off the scoped client's rewriting of arguments (it still sends each operation's user) for
 * the calling file's tests between `beforeAll` and `afterAll`: what keeps users apart then is
 * the database's row-level security alone.
 */
export function withoutScopeRewriting() {
  beforeAll(() => {
    scopeRewriting.enabled = false;
  });
  afterAll(() => {
    scopeRewriting.enabled = true;
  });
}

export type TestDriver = "pg" | "neon";

export function testDriver(): TestDriver {
  return process.env.TEST_DRIVER === "neon" ? "neon" : "pg";
}

/**
 * Sets the database's defaults for new sessions (`ALTER DATABASE … SET`), and the value in the
 * session that sets it: an embedded database serves every client from that one session.
 */
export async function setDatabaseDefaults(url: string, settings: Record<string, string>) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const [name, value] of Object.entries(settings)) {
      if (!/^[a-z_]+(\.[a-z_]+)?$/.test(name)) throw new Error(`Not a setting's name: ${name}`);
      const literal = client.escapeLiteral(value);
      await client.query(
        `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET ${name} = %L', current_database(), ${literal}); END $$`,
      );
      await client.query("SELECT set_config($1, $2, false)", [name, value]);
    }
  } finally {
    await client.end();
  }
}

/**
 * `url` (the owner's) as the app connects: as the role the row-level security policies bind. An
 * embedded database has one session, its superuser's: there each transaction takes the role.
 */
export function appUrl(url: string): string {
  return testServerUrl() ? appRoleUrl(url) : url;
}

/** The environment of an app process (API server, web app) on `url` (the owner's), as the app's role. */
export function appDatabaseEnv(url: string): { DATABASE_URL: string; DATABASE_ROLE?: string } {
  return testServerUrl()
    ? { DATABASE_URL: appUrl(url) }
    : { DATABASE_URL: url, DATABASE_ROLE: APP_ROLE };
}

/**
 * A client on `url` (the owner's) through the driver under test: the app's (the default) or,
 * `as: "owner"`, the owner's, which row-level security does not bind.
 */
export async function connectTestDb(
  url: string,
  {
    as = "app",
    poolMax,
    listenUrl,
  }: {
    as?: "app" | "owner";
    poolMax?: number;
    /** Where to LISTEN, when `url` cannot (PgBouncer); as the same role. */
    listenUrl?: string;
  } = {},
): Promise<Database> {
  if (testDriver() === "neon") await routeNeonToLoopback();
  // An embedded database is one session: connections of a pool would interleave in it.
  const pool = { driver: testDriver(), poolMax: testServerUrl() ? (poolMax ?? 4) : 1 };
  if (as === "owner") return createDb({ url, ...pool, listenUrl, rowSecurity: "off" });
  return createDb({
    url: appUrl(url),
    ...pool,
    listenUrl: listenUrl && appUrl(listenUrl),
    role: testServerUrl() ? undefined : APP_ROLE,
  });
}

let neonProxy: Promise<unknown> | undefined;
let proxiedConnections = 0;

/** How many connections Neon's driver has opened through the proxy (proof that it is in use). */
export function neonConnectionCount(): number {
  return proxiedConnections;
}

/** Points Neon's driver at a loopback WebSocket-to-TCP proxy (Neon's own wire setup, minus TLS). */
function routeNeonToLoopback(): Promise<unknown> {
  neonProxy ??= startWebSocketProxy().then(({ port }) => routeNeonTo(port));
  return neonProxy;
}

/** Points Neon's driver at the WebSocket proxy on a loopback `port`. */
export function routeNeonTo(port: number): void {
  neonConfig.webSocketConstructor = ws;
  neonConfig.wsProxy = (host, dbPort) => `127.0.0.1:${port}/v1?address=${host}:${dbPort}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  // Pipelining the startup message breaks SCRAM authentication against a plain PostgreSQL.
  neonConfig.pipelineConnect = false;
}

export interface WebSocketProxy {
  port: number;
  /** Holds every message in both directions until resumed: the far side seems to hang. */
  pause(): void;
  resume(): void;
  /** Stops listening and drops every connection, as a crashed proxy would. */
  close(): Promise<void>;
}

/** Neon's WebSocket-to-TCP proxy, for loopback targets only; `port` 0 picks a free one. */
export async function startWebSocketProxy(port = 0): Promise<WebSocketProxy> {
  const server = new WebSocketServer({ host: "127.0.0.1", port, path: "/v1" });
  let paused: (() => void)[] | undefined;
  const forward = (send: () => void) => (paused ? paused.push(send) : send());
  server.on("connection", (socket, request) => {
    const target = new URL(request.url ?? "", "http://proxy").searchParams.get("address") ?? "";
    const [host, targetPort] = target.split(":");
    if (host !== "127.0.0.1" && host !== "localhost") return socket.close(1008, "loopback only");
    const tcp = connect({ host, port: Number(targetPort) });
    proxiedConnections++;
    const pending: Buffer[] = [];
    tcp.on("connect", () => {
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    socket.on("message", (data: Buffer) =>
      forward(() => (tcp.connecting ? pending.push(data) : tcp.write(data))),
    );
    tcp.on("data", (data) => forward(() => socket.send(data)));
    tcp.on("close", () => socket.close());
    tcp.on("error", () => socket.close());
    socket.on("close", () => tcp.destroy());
  });
  await new Promise<void>((listening) => server.once("listening", listening));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("Unexpected proxy address");
  return {
    port: address.port,
    pause: () => {
      paused ??= [];
    },
    resume: () => {
      const held = paused ?? [];
      paused = undefined;
      for (const send of held) send();
    },
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((closed) => server.close(() => closed()));
    },
  };
}
