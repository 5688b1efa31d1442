// @ts-check
// Throwaway in-memory PGlite databases served on loopback: shadow databases next to an embedded
// main database, and scratch databases for tests.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * @typedef {{ url: string, close(): Promise<void> }} ServedPglite
 */

/**
 * Serves a new, empty in-memory PGlite database on a loopback port.
 * @returns {Promise<ServedPglite>}
 */
export async function servePglite() {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ loadDataDir: await pristineDataDir() });
  // The default of one connection makes pooled clients fail with ECONNRESET.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/** @type {Promise<Blob> | undefined} */
let pristine;

/**
 * A new PGlite database runs initdb, which takes about a second; loading a copy of a pristine
 * one takes a third of that. The copy is made once per PGlite version and kept in the
 * system's temporary folder, shared by every process.
 * @returns {Promise<Blob>}
 */
export function pristineDataDir() {
  pristine ??= (async () => {
    const path = join(tmpdir(), "tasks-schema-engine", `pglite-${await pgliteVersion()}.tar.gz`);
    try {
      return new Blob([await readFile(path)]);
    } catch {
      const { PGlite } = await import("@electric-sql/pglite");
      const db = await PGlite.create();
      const dataDir = await db.dumpDataDir("gzip");
      await db.close();
      await mkdir(dirname(path), { recursive: true });
      // Written aside, then renamed: processes racing to make it never read half a file.
      const partial = `${path}.${process.pid}`;
      await writeFile(partial, Buffer.from(await dataDir.arrayBuffer()));
      await rename(partial, path);
      return dataDir;
    }
  })();
  return pristine;
}

async function pgliteVersion() {
  // The package does not export its package.json: find it beside the entry point.
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  for (;;) {
    try {
      const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
      if (manifest.name === "@electric-sql/pglite") return String(manifest.version);
    } catch {}
    if (dirname(dir) === dir) return "unknown";
    dir = dirname(dir);
  }
}
