import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/** A PGlite database served on loopback, reachable by any PostgreSQL client at `url`. */
export interface EmbeddedServer {
  url: string;
  /** Whether this process serves it (and so must close it), or found it served by another. */
  owned: boolean;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Where the database files live; in memory when absent. */
  dataDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

/**
 * Serves a PGlite database over the PostgreSQL wire protocol.
 *
 * PGlite is a single backend: every connection shares one session, and the
 * database name in the URL is ignored.
 */
export async function serveEmbedded(options: ServeOptions = {}): Promise<EmbeddedServer> {
  const host = options.host ?? "127.0.0.1";
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  // The default of one connection makes pooled clients fail with ECONNRESET.
  const server = new PGLiteSocketServer({ db, host, port: options.port ?? 0, maxConnections: 32 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres?sslmode=disable`,
    owned: true,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/** The default data directory: `.data/pglite` at the workspace root. */
export function defaultDataDir(): string {
  return process.env.PGLITE_DATA_DIR ?? join(workspaceRoot(), ".data", "pglite");
}

/** The nearest folder above `from` holding `pnpm-workspace.yaml` (else `from` itself). */
export function workspaceRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

interface ServerRecord {
  pid: number;
  url: string;
}

/**
 * Opens the persistent embedded database, or joins the process already serving it.
 *
 * A data directory can be opened by one process only, so the serving process
 * records its URL in `<dataDir>.json`; the API server, the Prisma CLI and
 * Prisma Studio then share that one server.
 */
export async function openEmbedded(dataDir = defaultDataDir()): Promise<EmbeddedServer> {
  const recordPath = `${dataDir}.json`;
  const running = readRecord(recordPath);
  if (running && isAlive(running.pid) && (await accepts(running.url))) {
    return { url: running.url, owned: false, close: async () => {} };
  }
  const port = process.env.PGLITE_PORT ? Number(process.env.PGLITE_PORT) : 0;
  const server = await serveEmbedded({ dataDir, port });
  writeFileSync(recordPath, JSON.stringify({ pid: process.pid, url: server.url }));
  const forget = () => {
    if (readRecord(recordPath)?.pid === process.pid) rmSync(recordPath, { force: true });
  };
  process.once("exit", forget);
  return {
    ...server,
    async close() {
      forget();
      process.off("exit", forget);
      await server.close();
    },
  };
}

function readRecord(path: string): ServerRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ServerRecord;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
    socket.once("timeout", () => {
      socket.destroy();
      done(false);
    });
  });
}
