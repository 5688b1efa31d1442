#!/usr/bin/env node
// @ts-check
// Stands in for Prisma's native schema-engine binary (set PRISMA_SCHEMA_ENGINE_BINARY to this
// file), speaking the protocol the Prisma CLI expects of it:
//   schema-engine --version
//   schema-engine --datasource <json> cli can-connect-to-database | create-database
//   schema-engine --datamodels <path>… --datasource <json>   (JSON-RPC 2.0 over stdio)
// Logs and errors go to stderr as JSON lines, like the native engine's.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  checkDatabaseConnection,
  createDatabase,
  openSchemaEngine,
  SchemaEngineError,
  schemaEngineVersion,
} from "../src/schema-engine.js";

/**
 * @typedef {import("../src/schema-engine.js").EngineLogEvent} EngineLogEvent
 * @typedef {import("../src/schema-engine.js").SchemaEngineSession} SchemaEngineSession
 * @typedef {{ url?: string, shadowDatabaseUrl?: string }} Datasource
 * @typedef {{ jsonrpc: "2.0", id: number | string, method: string, params?: unknown }} Request
 */

/** The JSON-RPC error code of the native engine's user-facing errors. */
const USER_FACING_ERROR = 4466;
const METHOD_NOT_FOUND = -32601;

/** The CLI's method names that are not the engine's own. */
const METHOD_ALIASES = /** @type {Record<string, string>} */ ({ getDatabaseVersion: "version" });
const DATABASE_FREE_DIFF_TARGETS = new Set(["empty", "schemaDatamodel"]);
const ENGINE_METHODS = new Set([
  "applyMigrations",
  "createMigration",
  "dbExecute",
  "debugPanic",
  "devDiagnostic",
  "diagnoseMigrationHistory",
  "diff",
  "ensureConnectionValidity",
  "evaluateDataLoss",
  "introspect",
  "introspectSql",
  "markMigrationApplied",
  "markMigrationRolledBack",
  "reset",
  "schemaPush",
  "version",
]);

/**
 * @param {string} command
 * @param {Datasource} datasource
 * @returns {Promise<number>} the exit code
 */
async function runCliCommand(command, { url }) {
  // The CLI skips the first stderr line, the native engine's start-up log.
  writeLog({ level: "INFO", fields: { message: `Running ${command}` }, target: "schema_engine" });
  try {
    if (!url) throw new SchemaEngineError("The datasource has no URL.");
    if (command === "can-connect-to-database") await checkDatabaseConnection(url);
    else if (command === "create-database") await createDatabase(url);
    else throw new SchemaEngineError(`Unknown command: ${command}`);
    return 0;
  } catch (error) {
    const { message, code } = asSchemaEngineError(error);
    writeLog({
      level: "ERROR",
      fields: { message, error_code: code },
      target: "schema_engine::logger",
    });
    return 1;
  }
}

/**
 * Answers the CLI's requests one at a time until it closes stdin.
 * @param {import("../src/schema-engine.js").EngineOptions} options
 */
function serve(options) {
  /** @type {Promise<SchemaEngineSession> | undefined} */
  let session;
  /** @param {Request} request the first one decides whether to connect to the database */
  const openSession = (request) => {
    session ??= openSchemaEngine({
      ...options,
      url: needsDatabase(request) ? options.url : undefined,
      log: writeLog,
    });
    return session;
  };
  const printer = new Printer();
  let queue = Promise.resolve();

  createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })
    .on("line", (line) => {
      if (!line.trim()) return;
      const message = JSON.parse(line);
      if (typeof message.method === "string") {
        queue = queue.then(() => answer(message, openSession, printer));
      } else {
        printer.acknowledge(message.id);
      }
    })
    .on("close", () => {
      queue = queue.then(shutdown);
    });
  // The CLI kills the engine as soon as it is done with it: leave no shadow database behind.
  process.once("SIGTERM", shutdown);

  /** @type {Promise<never> | undefined} */
  let closing;
  function shutdown() {
    closing ??= (async () => {
      const opened = await session?.catch(() => undefined);
      await opened?.close();
      process.exit();
    })();
    return closing;
  }
}

/**
 * A diff between schema files (or nothing) needs no database, as with the native engine, which
 * connects lazily.
 * @param {Request} request
 */
function needsDatabase({ method, params }) {
  if (method !== "diff") return true;
  const { from, to } = /** @type {{ from: { tag: string }, to: { tag: string } }} */ (params);
  return ![from, to].every((target) => DATABASE_FREE_DIFF_TARGETS.has(target.tag));
}

/**
 * @param {Request} request
 * @param {(request: Request) => Promise<SchemaEngineSession>} openSession
 * @param {Printer} printer
 */
async function answer(request, openSession, printer) {
  const { id, method, params } = request;
  const engineMethod = METHOD_ALIASES[method] ?? method;
  if (!ENGINE_METHODS.has(engineMethod)) {
    reply({ id, error: { code: METHOD_NOT_FOUND, message: `Method not found: ${method}` } });
    return;
  }
  try {
    const session = await openSession(request);
    const call = /** @type {(method: string, params: unknown) => Promise<unknown>} */ (
      session.call.bind(session)
    );
    // The engine's version method takes no connection parameters over a driver adapter.
    const result = await call(engineMethod, engineMethod === "version" ? undefined : params);
    reply({
      id,
      result: engineMethod === "diff" ? await printDiff(result, printer) : (result ?? null),
    });
  } catch (error) {
    const { message, code, isPanic } = asSchemaEngineError(error);
    reply({
      id,
      error: {
        code: USER_FACING_ERROR,
        message: isPanic ? message : "An error happened. Check the data field for details.",
        data: { is_panic: isPanic, message, error_code: code },
      },
    });
  }
}

/**
 * `migrate diff` prints what the engine returns through the CLI, which can capture it (`--output`).
 * @param {unknown} result
 * @param {Printer} printer
 */
async function printDiff(result, printer) {
  const { exitCode, stdout } = /** @type {{ exitCode: number, stdout: string | null }} */ (result);
  if (stdout) await printer.print(stdout);
  return { exitCode, stdout: null };
}

/** Sends `print` requests to the CLI and waits for their acknowledgement. */
class Printer {
  #nextId = 1;
  /** @type {Map<unknown, () => void>} */
  #pending = new Map();

  /** @param {string} content */
  print(content) {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, () => resolve(undefined));
      write({ jsonrpc: "2.0", id, method: "print", params: { content } });
    });
  }

  /** @param {unknown} id */
  acknowledge(id) {
    this.#pending.get(id)?.();
    this.#pending.delete(id);
  }
}

/** @param {{ id: Request["id"], result?: unknown, error?: unknown }} response */
function reply(response) {
  write({ jsonrpc: "2.0", ...response });
}

/** @param {unknown} message */
function write(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** @param {EngineLogEvent} event */
function writeLog(event) {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), ...event })}\n`);
}

/** @param {unknown} error */
function asSchemaEngineError(error) {
  if (error instanceof SchemaEngineError) return error;
  return new SchemaEngineError(error instanceof Error ? error.message : String(error));
}

const { values, positionals } = parseArgs({
  options: {
    datamodels: { type: "string", multiple: true },
    datasource: { type: "string" },
    version: { type: "boolean", short: "V" },
    // Accepted and unused: the engine reads preview features from the schema itself.
    "enabled-preview-features": { type: "string" },
    "extension-types": { type: "string" },
  },
  allowPositionals: true,
});
/** @type {Datasource} */
const datasource = JSON.parse(values.datasource ?? "{}");

if (values.version) {
  process.stdout.write(`schema-engine-cli ${await schemaEngineVersion()}\n`);
} else if (positionals[0] === "cli") {
  process.exitCode = await runCliCommand(String(positionals[1]), datasource);
} else {
  // `--datamodels a b` as well as `--datamodels a --datamodels b`
  const schemaPaths = [...(values.datamodels ?? []), ...positionals];
  serve({ ...datasource, schemaPaths });
}
