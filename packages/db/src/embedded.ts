import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Server as NetServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { ExchangeQueue } from "./exchange-queue.ts";

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
  /** For an in-memory database: a dump to start from (`PGlite.dumpDataDir`). */
  loadDataDir?: Blob;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * False for short-lived commands (the Prisma CLI): serving then does not keep
   * the process alive once its own work is done.
   */
  keepProcessAlive?: boolean;
}

/**
 * Serves a PGlite database over the PostgreSQL wire protocol.
 *
 * PGlite is a single backend: every connection shares one session, whose
 * exchanges and transactions are taken one connection at a time, and the
 * database name in the URL is ignored.
 */
export async function serveEmbedded(options: ServeOptions = {}): Promise<EmbeddedServer> {
  const keepAlive = options.keepProcessAlive ?? true;
  if (!keepAlive) unrefPgliteTimers();
  // Loaded on demand, and after the timer hook above: PGlite keeps its own reference to setTimeout.
  const { PGlite } = await import("@electric-sql/pglite");
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(
    options.dataDir ? { dataDir: options.dataDir } : { loadDataDir: options.loadDataDir },
  );
  const server = await socketServer(db, { host: options.host, port: options.port });
  await server.start();
  if (!keepAlive) {
    // pglite-socket keeps its net.Server private and offers no unref of its own.
    const listener = (server as unknown as { server?: NetServer }).server;
    listener?.unref();
    listener?.on("connection", (socket) => socket.unref());
  }
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    owned: true,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * pglite-socket's server for `db`, taking whole exchanges at a time (see ExchangeQueue);
 * started by the caller.
 */
export async function socketServer(db: PGlite, { host = "127.0.0.1", port = 0 } = {}) {
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  // The default of one connection makes pooled clients fail with ECONNRESET.
  const server = new PGLiteSocketServer({ db, host, port, maxConnections: 32 });
  // pglite-socket hands each new connection the server's queue, so replacing it before any
  // connection is enough.
  (server as unknown as { queryQueue: ExchangeQueue }).queryQueue = new ExchangeQueue(db);
  return server;
}

let pgliteTimersUnrefed = false;

/**
 * PGlite's PostgreSQL arms timers for its own housekeeping (statistics,
 * timeouts) through Emscripten's `setitimer`. They would keep a finished
 * command's process alive for seconds, so they are unrefed. This must run
 * before PGlite is first loaded.
 */
function unrefPgliteTimers() {
  if (pgliteTimersUnrefed) return;
  pgliteTimersUnrefed = true;
  const setTimeoutRef = globalThis.setTimeout;
  globalThis.setTimeout = ((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const timer = setTimeoutRef(callback, ms, ...args);
    if (String(callback).includes("__emscripten_timeout")) timer.unref();
    return timer;
  }) as typeof setTimeout;
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

export interface OpenOptions extends Pick<ServeOptions, "keepProcessAlive"> {
  /**
   * Run by the process that opens the database (e.g. applying migrations)
   * before others may join it; those that join find it done.
   */
  prepare?(url: string): Promise<unknown>;
}

interface ServerRecord {
  pid: number;
  /** Unset while the owner is still starting. */
  url?: string;
}

/** How long to wait for another process that is starting the database. */
const JOIN_TIMEOUT_MS = 30_000;

/**
 * Opens the persistent embedded database, or joins the process already serving it.
 *
 * A data directory must be opened by one process only. The record
 * `<dataDir>.json` is claimed atomically by the process that opens it, then
 * holds its URL; the API server, the Prisma CLI and Prisma Studio share that one
 * server. A record left by a dead process is taken over.
 */
export async function openEmbedded(
  dataDir = defaultDataDir(),
  { keepProcessAlive = true, prepare }: OpenOptions = {},
): Promise<EmbeddedServer> {
  const recordPath = `${dataDir}.json`;
  mkdirSync(dirname(recordPath), { recursive: true });
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const record = readRecord(recordPath);
    if (record && isAlive(record.pid)) {
      if (record.url && (await accepts(record.url))) {
        return { url: record.url, owned: false, close: async () => {} };
      }
      await sleep(100);
    } else if (record) {
      rmSync(recordPath, { force: true });
    } else if (claim(recordPath)) {
      return serveClaimed(recordPath, { dataDir, keepProcessAlive }, prepare);
    }
  }
  throw new Error(
    `The embedded database at ${dataDir} is held by another process that does not answer; ` +
      `stop it, or delete ${recordPath} if that process is gone.`,
  );
}

function claim(recordPath: string): boolean {
  try {
    writeFileSync(recordPath, JSON.stringify({ pid: process.pid }), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

async function serveClaimed(
  recordPath: string,
  options: ServeOptions,
  prepare?: (url: string) => Promise<unknown>,
): Promise<EmbeddedServer> {
  const release = () => {
    if (readRecord(recordPath)?.pid === process.pid) rmSync(recordPath, { force: true });
  };
  let server: EmbeddedServer | undefined;
  try {
    const port = process.env.PGLITE_PORT ? Number(process.env.PGLITE_PORT) : 0;
    server = await serveEmbedded({ ...options, port });
    await prepare?.(server.url);
  } catch (error) {
    await server?.close();
    release();
    throw error;
  }
  writeFileSync(recordPath, JSON.stringify({ pid: process.pid, url: server.url }));
  process.once("exit", release);
  return {
    ...server,
    async close() {
      release();
      process.off("exit", release);
      await server.close();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
