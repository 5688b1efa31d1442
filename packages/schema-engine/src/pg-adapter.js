// @ts-check
// @prisma/adapter-pg, adjusted for the schema engine.
import { PrismaPg } from "@prisma/adapter-pg";
import { ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import pg from "pg";

/**
 * @typedef {import("@prisma/driver-adapter-utils").SqlDriverAdapter} SqlDriverAdapter
 * @typedef {import("@prisma/driver-adapter-utils").SqlQuery} SqlQuery
 * @typedef {import("@prisma/driver-adapter-utils").SqlQueryable} SqlQueryable
 * @typedef {{ performIO(query: SqlQuery): Promise<pg.QueryArrayResult> }} PgQueryableInternals
 */

const { CHAR, TEXT } = pg.types.builtins;

/**
 * Connects adapter-pg to `url` with two fixes the schema engine needs:
 * - migration scripts run as one statement batch on one connection, so a failing migration
 *   leaves nothing behind (adapter-pg splits them on `;` and spreads them over the pool);
 * - PostgreSQL's internal `"char"` type, which the engine reads from pg_catalog, is readable.
 * @param {string} url
 * @returns {Promise<SqlDriverAdapter>}
 */
export async function connectPgAdapter(url) {
  const adapter = await new PrismaPg({ connectionString: url }).connect();
  readCharColumns(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    const transaction = await startTransaction(isolationLevel);
    readCharColumns(transaction);
    return transaction;
  };
  // Without parameters, pg sends the text as one simple query, which PostgreSQL runs as a
  // single implicit transaction.
  adapter.executeScript = async (script) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

/**
 * adapter-pg 7.10 cannot map OID 18 (`"char"`) to a column type and rejects the whole result.
 * The engine expects ColumnTypeEnum.Character for it (Text breaks introspection on newer
 * PostgreSQL, including PGlite). Every query of a queryable goes through its internal
 * `performIO`, so that is where those columns are found and passed on as text; `queryRaw` then
 * reports them as Character.
 * @param {SqlQueryable} queryable
 */
function readCharColumns(queryable) {
  const internals = /** @type {SqlQueryable & PgQueryableInternals} */ (queryable);
  if (typeof internals.performIO !== "function") {
    throw new Error('@prisma/adapter-pg changed: update the "char" fix in engine/pg-adapter.js');
  }
  /** @type {WeakMap<SqlQuery, number[]>} */
  const charColumns = new WeakMap();
  const performIO = internals.performIO.bind(internals);
  internals.performIO = async (query) => {
    const result = await performIO(query);
    if (Array.isArray(result)) return result; // a script: one result per statement, no rows read
    const indexes = [];
    for (const [index, field] of result.fields.entries()) {
      if (field.dataTypeID === CHAR) {
        field.dataTypeID = TEXT;
        indexes.push(index);
      }
    }
    charColumns.set(query, indexes);
    return result;
  };
  const queryRaw = internals.queryRaw.bind(internals);
  internals.queryRaw = async (query) => {
    const resultSet = await queryRaw(query);
    for (const index of charColumns.get(query) ?? []) {
      resultSet.columnTypes[index] = ColumnTypeEnum.Character;
    }
    return resultSet;
  };
}
