// @ts-check
// Scratch databases for tests: one of their own on the PostgreSQL server the tests are given,
// or an in-memory PGlite when they are given none.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { servePglite } from "./pglite.js";

/**
 * @typedef {{ url: string, drop(): Promise<void> }} ScratchDatabase
 */

/**
 * The server tests run against, if any.
 * @returns {string | undefined}
 */
export function testServerUrl() {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;
}

/**
 * A new, empty database, dropped by `drop()`.
 * @returns {Promise<ScratchDatabase>}
 */
export async function createScratchDatabase() {
  const serverUrl = testServerUrl();
  if (!serverUrl) {
    const pglite = await servePglite();
    return { url: pglite.url, drop: () => pglite.close() };
  }
  const name = `test_${randomBytes(6).toString("hex")}`;
  await query(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      await query(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * Runs SQL on a connection of its own and returns the rows.
 * @param {string} url
 * @param {string} sql
 * @returns {Promise<Record<string, unknown>[]>}
 */
export async function query(url, sql) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
