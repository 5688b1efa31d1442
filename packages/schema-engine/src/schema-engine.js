// @ts-check
// Prisma's schema engine (migrations, introspection) on its WebAssembly build and adapter-pg, for
// machines where the native schema-engine binary cannot be downloaded. Used in-process by the
// app, and by bin/schema-engine.js, which the Prisma CLI runs in place of the native binary.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  DriverAdapterError,
  isDriverAdapterError,
} from "@prisma/driver-adapter-utils";
import { connectPgAdapter } from "./pg-adapter.js";
import { shadowDatabaseConnector } from "./shadow-database.js";
import { guardPanics, loadSchemaEngineWasm, WasmPanic } from "./wasm.js";

/**
 * @typedef {import("@prisma/schema-engine-wasm").SchemaEngine} WasmSchemaEngine
 * @typedef {import("@prisma/schema-engine-wasm").MigrationList} MigrationList
 * @typedef {import("@prisma/driver-adapter-utils").SqlDriverAdapter} SqlDriverAdapter
 * @typedef {import("@prisma/driver-adapter-utils").SqlMigrationAwareDriverAdapterFactory} AdapterFactory
 * @typedef {Exclude<keyof WasmSchemaEngine, "free" | typeof Symbol.dispose>} EngineMethod
 */

/**
 * One log event of the engine, as the native binary writes it to stderr.
 * @typedef {{ level: string, fields: { message: string, [field: string]: unknown }, target: string }} EngineLogEvent
 */

/**
 * @typedef {object} EngineOptions
 * @property {string} [url] the database; without one, only database-free commands work
 * @property {string} [shadowDatabaseUrl] a dedicated shadow database, emptied before each use
 * @property {string[]} [schemaPaths] Prisma schema files, or folders of them
 * @property {(event: EngineLogEvent) => void} [log]
 */

/** An engine failure, with Prisma's message and, when Prisma has one, its error code. */
export class SchemaEngineError extends Error {
  /** @override */
  name = "SchemaEngineError";

  /**
   * @param {string} message
   * @param {{ code?: string, isPanic?: boolean }} [details]
   */
  constructor(message, { code, isPanic = false } = {}) {
    super(message);
    /** Prisma's error code, e.g. `P3009`. */
    this.code = code;
    /** The engine crashed (a Rust panic) rather than reporting an error. */
    this.isPanic = isPanic;
  }
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

/**
 * Applies the pending migrations of `migrationsDir`, as `prisma migrate deploy` does.
 * @param {{ url: string, schemaPath: string, migrationsDir: string, log?: EngineOptions["log"] }} options
 * @returns {Promise<string[]>} the names of the migrations applied
 */
export async function migrateDeploy({ url, schemaPath, migrationsDir, log }) {
  const migrationsList = await readMigrationsDirectory(migrationsDir);
  const engine = await openSchemaEngine({ url, schemaPaths: [schemaPath], log });
  try {
    const { appliedMigrationNames } = await engine.call("applyMigrations", {
      migrationsList,
      filters: NO_FILTERS,
    });
    return appliedMigrationNames;
  } finally {
    await engine.close();
  }
}

/**
 * Throws a SchemaEngineError (`P1003` when the database does not exist) unless the engine can
 * connect to `url`.
 * @param {string} url
 */
export async function checkDatabaseConnection(url) {
  const engine = await openSchemaEngine({ url });
  await engine.close();
}

/**
 * Creates the database named in `url`, from the server's `postgres` database.
 * @param {string} url
 * @returns {Promise<string>} the database name
 */
export async function createDatabase(url) {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenanceUrl = new URL(url);
  maintenanceUrl.pathname = "/postgres";
  const engine = await openSchemaEngine({ url: maintenanceUrl.href });
  try {
    await engine.call("dbExecute", {
      datasourceType: { tag: "url", url: maintenanceUrl.href },
      script: `CREATE DATABASE "${database.replaceAll('"', '""')}"`,
    });
    return database;
  } finally {
    await engine.close();
  }
}

/** The git hash of the engine build. */
export async function schemaEngineVersion() {
  return (await loadSchemaEngineWasm()).version();
}

/**
 * Reads a migrations folder the way the Prisma CLI does before sending it to the engine.
 * @param {string} migrationsDir
 * @returns {Promise<MigrationList>}
 */
export async function readMigrationsDirectory(migrationsDir) {
  const lockfilePath = "migration_lock.toml";
  const lockfile = await readFile(join(migrationsDir, lockfilePath), "utf8").catch(() => null);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort((a, b) => a.localeCompare(b))
      .map(async (name) => ({
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: await readFile(join(migrationsDir, name, "migration.sql"), "utf8").then(
            (sql) => /** @type {const} */ ({ tag: "ok", value: sql }),
            (error) => /** @type {const} */ ({ tag: "error", value: String(error.message) }),
          ),
        },
      })),
  );
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockfilePath, content: lockfile },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

/**
 * Starts an engine connected to `url` (it connects right away). Close it when done.
 * @param {EngineOptions} options
 */
export async function openSchemaEngine({ url, shadowDatabaseUrl, schemaPaths = [], log }) {
  const [{ SchemaEngine }, datamodels] = await Promise.all([
    loadSchemaEngineWasm(),
    readSchemaFiles(schemaPaths),
  ]);
  const adapters = new AdapterTracker();
  const connectToShadowDb = shadowDatabaseConnector({ url, shadowDatabaseUrl });
  /** @type {AdapterFactory} */
  const factory = {
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    connect: () => adapters.track(url ? connectPgAdapter(url) : connectOffline()),
    connectToShadowDb: () => adapters.track(connectToShadowDb()),
  };
  /** @param {string} line */
  const onLog = (line) => log?.(JSON.parse(line));
  try {
    const engine = await guardPanics(() =>
      SchemaEngine.new(
        { datamodels: datamodels.length > 0 ? datamodels : undefined },
        onLog,
        bindMigrationAwareSqlAdapterFactory(factory),
      ),
    );
    return new SchemaEngineSession(engine, adapters);
  } catch (error) {
    await adapters.disposeAll();
    const engineError = toSchemaEngineError(error);
    // Failures to connect come without Prisma's code here; the driver knows which one it was.
    if (url && !engineError.code && !engineError.isPanic) {
      engineError.code = await connectionFailureCode(url);
    }
    throw engineError;
  }
}

/**
 * In the WebAssembly build, these read the schema of the migration history from a cache that
 * only diagnoseMigrationHistory fills (with a shadow database): they get none of their own.
 */
const READ_MIGRATIONS_SCHEMA_FROM_CACHE = new Set(["evaluateDataLoss", "createMigration"]);

/** An open engine: one call at a time, then close. */
export class SchemaEngineSession {
  #engine;
  #adapters;
  /** Migration histories whose schema the engine has cached. */
  #cachedHistories = new Set();

  /**
   * @param {WasmSchemaEngine} engine
   * @param {AdapterTracker} adapters
   */
  constructor(engine, adapters) {
    this.#engine = engine;
    this.#adapters = adapters;
  }

  /**
   * Calls an engine method, rejecting with a SchemaEngineError.
   * @template {EngineMethod} M
   * @param {M} method
   * @param {Parameters<WasmSchemaEngine[M]>[0]} params
   * @returns {Promise<Awaited<ReturnType<WasmSchemaEngine[M]>>>}
   */
  async call(method, params) {
    if (READ_MIGRATIONS_SCHEMA_FROM_CACHE.has(method)) {
      await this.#cacheMigrationsSchema(
        /** @type {{ migrationsList: MigrationList, filters: typeof NO_FILTERS }} */ (params),
      );
    }
    return this.#invoke(method, params);
  }

  /**
   * The cache is keyed by the migrations applied to the database, which `migrate dev` has just
   * brought up to date: diagnosing the history now caches the schema of all of them.
   * @param {{ migrationsList: MigrationList, filters: typeof NO_FILTERS }} params
   */
  async #cacheMigrationsSchema({ migrationsList, filters }) {
    const history = JSON.stringify(migrationsList.migrationDirectories);
    if (this.#cachedHistories.has(history)) return;
    await this.#invoke("diagnoseMigrationHistory", {
      migrationsList,
      optInToShadowDatabase: true,
      filters,
    });
    this.#cachedHistories.add(history);
  }

  /**
   * @template {EngineMethod} M
   * @param {M} method
   * @param {Parameters<WasmSchemaEngine[M]>[0]} params
   * @returns {Promise<Awaited<ReturnType<WasmSchemaEngine[M]>>>}
   */
  async #invoke(method, params) {
    const invoke =
      /** @type {(params: unknown) => Promise<Awaited<ReturnType<WasmSchemaEngine[M]>>>} */ (
        this.#engine[method]
      );
    try {
      return await guardPanics(() => invoke.call(this.#engine, params));
    } catch (error) {
      throw toSchemaEngineError(error);
    }
  }

  /** Frees the engine and closes its connections, including leftover shadow databases. */
  async close() {
    this.#engine.free();
    await this.#adapters.disposeAll();
  }
}

/** Remembers open adapters, so none outlives its engine; disposing twice is harmless. */
class AdapterTracker {
  /** @type {Set<SqlDriverAdapter>} */
  #open = new Set();

  /** @param {Promise<SqlDriverAdapter>} connecting */
  async track(connecting) {
    const adapter = await connecting;
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      if (this.#open.delete(adapter)) await dispose();
    };
    this.#open.add(adapter);
    return adapter;
  }

  async disposeAll() {
    await Promise.all([...this.#open].map((adapter) => adapter.dispose()));
  }
}

/** @param {string[]} paths files, or folders searched for `.prisma` files */
async function readSchemaFiles(paths) {
  const files = await Promise.all(
    paths.map(async (path) => {
      if (!(await stat(path)).isDirectory()) return [path];
      const names = await readdir(path, { recursive: true });
      return names.filter((name) => name.endsWith(".prisma")).map((name) => join(path, name));
    }),
  );
  return Promise.all(
    files
      .flat()
      .map(async (path) => /** @type {[string, string]} */ ([path, await readFile(path, "utf8")])),
  );
}

/**
 * Without a database URL the engine still probes the connection once when it starts: answer
 * that, so database-free commands (`migrate diff --from-empty --to-schema …`) work.
 * @returns {Promise<SqlDriverAdapter>}
 */
async function connectOffline() {
  const noDatabase = async () => {
    throw new DriverAdapterError({
      kind: "postgres",
      code: "08003",
      severity: "ERROR",
      message: "This command needs a database: set the datasource URL",
      detail: undefined,
      column: undefined,
      hint: undefined,
    });
  };
  return {
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    queryRaw: async () => ({
      columnNames: ["exists", "version", "numeric_version"],
      columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
      rows: [[true, "PostgreSQL", 0]],
    }),
    executeRaw: noDatabase,
    executeScript: noDatabase,
    startTransaction: noDatabase,
    dispose: async () => {},
  };
}

/** Prisma's codes for the connection failures adapter-pg reports. */
const CONNECTION_ERROR_CODES = /** @type {Record<string, string>} */ ({
  AuthenticationFailed: "P1000",
  DatabaseNotReachable: "P1001",
  DatabaseDoesNotExist: "P1003",
  SocketTimeout: "P1008",
  DatabaseAccessDenied: "P1010",
  TlsConnectionError: "P1011",
  ConnectionClosed: "P1017",
});

/**
 * @param {string} url
 * @returns {Promise<string | undefined>}
 */
async function connectionFailureCode(url) {
  const adapter = await connectPgAdapter(url);
  try {
    await adapter.queryRaw({ sql: "SELECT 1", args: [], argTypes: [] });
  } catch (error) {
    if (isDriverAdapterError(error)) return CONNECTION_ERROR_CODES[error.cause.kind];
  } finally {
    await adapter.dispose();
  }
  return undefined;
}

/** @param {unknown} error */
function toSchemaEngineError(error) {
  if (error instanceof SchemaEngineError) return error;
  if (error instanceof WasmPanic) return new SchemaEngineError(error.message, { isPanic: true });
  // The engine rejects with Error objects; Prisma's known errors carry a `code`.
  const { message, code } = /** @type {{ message?: unknown, code?: unknown }} */ (error ?? {});
  return new SchemaEngineError(typeof message === "string" ? message : String(error), {
    code: typeof code === "string" ? code : undefined,
  });
}
