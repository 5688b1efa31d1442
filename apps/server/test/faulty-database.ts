/**
 * A database the tests can stop, start, freeze and thaw while the API uses it:
 * - PostgreSQL: a cluster of its own (Debian's `pg_createcluster`), stopped and started with
 *   `pg_ctlcluster` as an operator would, frozen with SIGSTOP;
 * - PGlite (when the tests have no PostgreSQL server): an in-memory database whose socket
 *   server is stopped and started again on the same port, frozen by holding its only session;
 * - Neon's driver in front of either: its WebSocket proxy is killed, restarted and paused.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { applyMigrations } from "@tasks/db";
import { socketServer } from "@tasks/db/embedded";
import { routeNeonTo, startWebSocketProxy } from "@tasks/db/testing";
import { freePort } from "@tasks/db/testing/browser";

const run = promisify(execFile);

export interface FaultyDatabase {
  kind: "PostgreSQL" | "PGlite" | "Neon";
  /** What the server needs to reach it, besides `DATABASE_URL`. */
  env: Record<string, string>;
  /** Carries a password, so that tests can check it never reaches a log or a response. */
  url: string;
  password: string;
  /** Stops the server: `fast` ends sessions cleanly, `immediate` as a crash would. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** The server stops answering, with its connections left open. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  drop(): Promise<void>;
}

/** PostgreSQL clusters can be made where Debian's cluster tools run as root (as in CI). */
export function canCreateClusters(): boolean {
  return existsSync("/usr/bin/pg_createcluster") && process.getuid?.() === 0;
}

export async function createFaultyPostgres(): Promise<FaultyDatabase> {
  const [version = ""] = readdirSync("/usr/lib/postgresql");
  const name = `tasks_faults_${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  const cluster = [version, name];
  await run("pg_createcluster", [
    ...cluster,
    "--port",
    String(port),
    "--start",
    "--",
    "--auth=trust",
  ]);
  const password = `never-logged-${randomBytes(4).toString("hex")}`;
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  await applyMigrations(url);
  const processes = async () => {
    const dataDir = `/var/lib/postgresql/${version}/${name}`;
    const postmaster = readFileSync(`${dataDir}/postmaster.pid`, "utf8").split("\n")[0] ?? "";
    const { stdout } = await run("pgrep", ["-P", postmaster]).catch(() => ({ stdout: "" }));
    return [postmaster, ...stdout.split("\n").filter(Boolean)].map(Number);
  };
  let frozen: number[] = [];
  return {
    kind: "PostgreSQL",
    env: {},
    url,
    password,
    stop: async (mode = "fast") => {
      await run("pg_ctlcluster", [...cluster, "stop", "-m", mode]);
    },
    start: async () => {
      await run("pg_ctlcluster", [...cluster, "start"]);
    },
    freeze: async () => {
      frozen = await processes();
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
    },
    thaw: async () => {
      for (const pid of frozen.splice(0)) process.kill(pid, "SIGCONT");
    },
    drop: async () => {
      for (const pid of frozen.splice(0)) process.kill(pid, "SIGCONT");
      await run("pg_dropcluster", [...cluster, "--stop"]);
    },
  };
}

export async function createFaultyPglite(): Promise<FaultyDatabase> {
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create();
  const port = await freePort();
  // Served as the app serves its embedded database.
  const serve = async () => {
    const server = await socketServer(db, { port });
    await server.start();
    return server;
  };
  let server: Awaited<ReturnType<typeof serve>> | undefined = await serve();
  // PGlite ignores passwords, like a trusting PostgreSQL.
  const password = `never-logged-${randomBytes(4).toString("hex")}`;
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres?sslmode=disable`;
  await applyMigrations(url);
  let thaw: (() => void) | undefined;
  return {
    kind: "PGlite",
    env: {},
    url,
    password,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    start: async () => {
      server ??= await serve();
    },
    freeze: async () => {
      // Every statement waits for PGlite's one session, held here until thawed.
      await new Promise<void>((held) => {
        void db.runExclusive(
          () =>
            new Promise<void>((release) => {
              thaw = release;
              held();
            }),
        );
      });
    },
    thaw: async () => {
      thaw?.();
      thaw = undefined;
    },
    drop: async () => {
      thaw?.();
      await server?.stop();
      await db.close();
    },
  };
}

/** `database` reached through Neon's serverless driver, whose WebSocket proxy fails instead. */
export async function behindNeonProxy(database: FaultyDatabase): Promise<FaultyDatabase> {
  let proxy = await startWebSocketProxy();
  const { port } = proxy;
  routeNeonTo(port);
  let up = true;
  return {
    ...database,
    kind: "Neon",
    env: { DATABASE_DRIVER: "neon" },
    stop: async () => {
      if (up) await proxy.close();
      up = false;
    },
    start: async () => {
      if (!up) proxy = await startWebSocketProxy(port);
      up = true;
    },
    freeze: async () => proxy.pause(),
    thaw: async () => proxy.resume(),
    drop: async () => {
      if (up) await proxy.close();
    },
  };
}
