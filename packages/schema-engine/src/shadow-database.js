// @ts-check
// Shadow databases for `migrate dev` and `migrate diff --from-migrations`: a scratch database
// where the engine replays the migration history.
import { randomUUID } from "node:crypto";
import { connectPgAdapter } from "./pg-adapter.js";
import { servePglite } from "./pglite.js";

/** @typedef {import("@prisma/driver-adapter-utils").SqlDriverAdapter} SqlDriverAdapter */

/**
 * Picks where the shadow database lives (adapter-pg's own shadow connection reaches the main
 * database instead, and cannot drop its database while connections are open):
 * - an explicit `shadowDatabaseUrl`, emptied first;
 * - on PostgreSQL, a temporary `prisma_migrate_shadow_db_<uuid>` on the main database's server;
 * - on PGlite (one shared session, database names ignored) or without any database, an
 *   in-memory PGlite served on loopback by this process.
 * Disposing the returned adapter removes the temporary database.
 * @param {{ url?: string, shadowDatabaseUrl?: string }} datasource
 * @returns {() => Promise<SqlDriverAdapter>}
 */
export function shadowDatabaseConnector({ url, shadowDatabaseUrl }) {
  if (shadowDatabaseUrl) return () => connectEmptied(shadowDatabaseUrl);
  if (!url) return startPglite;
  return async () => {
    const admin = await connectPgAdapter(url);
    if (await isPglite(admin)) {
      await admin.dispose();
      return startPglite();
    }
    return createTemporaryDatabase(admin, url);
  };
}

/** @param {string} url */
async function connectEmptied(url) {
  const adapter = await connectPgAdapter(url);
  await adapter.executeScript('DROP SCHEMA IF EXISTS "public" CASCADE; CREATE SCHEMA "public";');
  return adapter;
}

/** @param {SqlDriverAdapter} adapter */
async function isPglite(adapter) {
  const { rows } = await adapter.queryRaw({ sql: "SELECT version()", args: [], argTypes: [] });
  return String(rows[0]?.[0]).includes("PGlite");
}

/**
 * @param {SqlDriverAdapter} admin a connection to the main database, closed with the shadow
 * @param {string} url
 */
async function createTemporaryDatabase(admin, url) {
  const name = `prisma_migrate_shadow_db_${randomUUID()}`;
  try {
    await admin.executeScript(`CREATE DATABASE "${name}"`);
    const shadow = await connectPgAdapter(withDatabase(url, name));
    return onDispose(shadow, async () => {
      await admin.executeScript(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.dispose();
    });
  } catch (error) {
    await admin.dispose();
    throw error;
  }
}

/** An in-memory PGlite of this process's own, stopped with the adapter. */
async function startPglite() {
  const pglite = await servePglite();
  const shadow = await connectPgAdapter(pglite.url);
  return onDispose(shadow, () => pglite.close());
}

/**
 * @param {string} url
 * @param {string} database
 */
function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.href;
}

/**
 * Runs `cleanup` after the adapter's own dispose.
 * @param {SqlDriverAdapter} adapter
 * @param {() => Promise<void>} cleanup
 */
function onDispose(adapter, cleanup) {
  const dispose = adapter.dispose.bind(adapter);
  adapter.dispose = async () => {
    try {
      await dispose();
    } finally {
      await cleanup();
    }
  };
  return adapter;
}
