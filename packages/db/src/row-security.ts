/**
 * Row-level security on the wire: every statement of a user-scoped operation carries its user,
 * as the `app.user_id` setting that the database's policies read, in the same transaction and
 * the same round trip.
 *
 * A statement of its own (outside a transaction) goes as one extended-protocol pipeline before a
 * single Sync: `SELECT set_config('app.user_id', $1, true)`, then the statement. PostgreSQL runs
 * the messages before a Sync as one implicit transaction, so the setting holds for exactly that
 * statement and ends with it, on a direct connection and through a transaction-mode pooler
 * alike. A transaction takes the user when it begins and sends the setting with its first
 * statement. Where the user comes from is `AsyncLocalStorage`, entered by the scoped client
 * around each operation and read when a statement or a transaction starts.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const rowOwner = new AsyncLocalStorage<string>();

/** Runs `operation` with the statements it starts reaching `userId`'s rows. */
export function asRowOwner<T>(userId: string, operation: () => T): T {
  return rowOwner.run(userId, operation);
}

/** Runs `operation` as no user: what it starts sees no user's rows. */
export function asNoRowOwner<T>(operation: () => T): T {
  return rowOwner.exit(operation);
}

export interface RowSecurityOptions {
  /**
   * The role each transaction takes (`SET LOCAL ROLE`), for a connection that logs in as
   * another: the embedded database, whose one session is its superuser's.
   */
  role?: string;
  /** Whether statements carry the user of their operation (default true). */
  user?: boolean;
}

/** What node-postgres and Neon's driver (a fork of it) share, as far as this module uses it. */
interface Connection {
  parse(message: { text: string; name: string; types: number[] }): void;
  bind(message: { portal: string; statement: string; values: unknown[] }): void;
  execute(message: { portal: string; rows: number }): void;
}
interface DriverQuery {
  text?: string;
  callback?: (error: unknown, result?: unknown) => void;
  requiresPreparation(): boolean;
  prepare(connection: Connection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: Connection): void;
}
type QueryClass = new (config: never, values?: never) => DriverQuery;
type QueryMethod = (config: unknown, values?: unknown, callback?: unknown) => unknown;
interface DriverClient {
  query: QueryMethod;
  release(error?: unknown): void;
  on(event: "error", listener: (error: unknown) => void): unknown;
  removeListener(event: "error", listener: (error: unknown) => void): unknown;
}
export interface DriverPool {
  query: QueryMethod;
  connect(): Promise<DriverClient>;
  on(event: "connect", listener: (client: DriverClient) => void): unknown;
  on(event: "release", listener: (error: unknown, client: DriverClient) => void): unknown;
}

/** The settings of one transaction, in the order they are set. */
type Settings = readonly (readonly [name: string, value: string])[];

const TRANSACTION_START = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const TRANSACTION_END = /^\s*(COMMIT|ROLLBACK|END|ABORT)\b/i;
/** Must come before any other statement of its transaction. */
const TRANSACTION_MODE = /^\s*SET\s+TRANSACTION\b/i;

/**
 * Makes `pool` (node-postgres's or Neon's, with the driver's `Query` class) send the user of the
 * current operation with every statement, as the module's comment says.
 */
export function enforceRowSecurity(
  pool: DriverPool,
  Query: QueryClass,
  options: RowSecurityOptions = {},
): void {
  const SettingQuery = settingQueryClass(Query);
  const settingsNow = (): Settings => {
    const owner = options.user === false ? undefined : rowOwner.getStore();
    const settings: [string, string][] = [];
    if (options.role) settings.push(["role", options.role]);
    if (owner !== undefined) settings.push(["app.user_id", owner]);
    return settings;
  };

  // A statement of its own: its settings are read here, where the caller's context is (a
  // pooled connection may be handed over later, from another request's context).
  const poolQuery = pool.query.bind(pool);
  pool.query = (config, values, callback) => {
    const settings = settingsNow();
    if (settings.length === 0 || !isText(config)) return poolQuery(config, values, callback);
    const query = new SettingQuery(
      config,
      typeof values === "function" ? undefined : values,
      settings,
    );
    return answer(onConnection(pool, query), typeof values === "function" ? values : callback);
  };

  // A transaction, on a connection of its own: the settings of the context that begins it,
  // sent with its first statement that may follow others (after BEGIN and SET TRANSACTION).
  // Whatever is pending is forgotten when the connection goes back to the pool.
  const pending = new WeakMap<DriverClient, Settings>();
  pool.on("release", (_error, client) => pending.delete(client));
  pool.on("connect", (client) => {
    const clientQuery = client.query.bind(client);
    client.query = (config, values, callback) => {
      if (!isText(config)) return clientQuery(config, values, callback);
      const text = typeof config === "string" ? config : config.text;
      const settings = pending.get(client);
      if (TRANSACTION_START.test(text)) {
        pending.set(client, settingsNow());
      } else if (TRANSACTION_END.test(text)) {
        pending.delete(client);
      } else if (settings && settings.length > 0 && !TRANSACTION_MODE.test(text)) {
        pending.delete(client);
        const query = new SettingQuery(
          config,
          typeof values === "function" ? undefined : values,
          settings,
        );
        return answer(send(clientQuery, query), typeof values === "function" ? values : callback);
      }
      return clientQuery(config, values, callback);
    };
  });
}

/**
 * Runs `query` on a connection of the pool's, as the pool's own `query` does: the connection's
 * errors meanwhile (it may be cut mid-statement) fail the query rather than the process, and a
 * connection whose statement failed is not given out again.
 */
async function onConnection(pool: DriverPool, query: DriverQuery): Promise<unknown> {
  const client = await pool.connect();
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error?: unknown, result?: unknown) => {
      if (done) return;
      done = true;
      client.removeListener("error", finish);
      client.release(error);
      if (error) reject(error);
      else resolve(result);
    };
    client.on("error", finish);
    send(client.query.bind(client), query).then((result) => finish(undefined, result), finish);
  });
}

/** Sends a query object, whose answer comes through its callback only. */
function send(clientQuery: QueryMethod, query: DriverQuery): Promise<unknown> {
  return new Promise((resolve, reject) => {
    query.callback = (error, result) => (error ? reject(error) : resolve(result));
    clientQuery(query);
  });
}

/** The promise, or the callback the caller gave instead. */
function answer(result: Promise<unknown>, callback: unknown): Promise<unknown> | undefined {
  if (typeof callback !== "function") return result;
  result.then((value) => callback(null, value), callback as (error: unknown) => void);
  return undefined;
}

/** A statement given as text or as a query config (not a custom query object). */
function isText(config: unknown): config is string | { text: string } {
  if (typeof config === "string") return true;
  if (config === null || typeof config !== "object") return false;
  return (
    typeof (config as { text?: unknown }).text === "string" &&
    typeof (config as { submit?: unknown }).submit !== "function"
  );
}

/**
 * The driver's `Query`, preceded on the wire by one `SELECT set_config(…, true), …` whose row and
 * completion it swallows; the statement's own Sync closes both.
 */
function settingQueryClass(Query: QueryClass) {
  return class SettingQuery extends Query {
    #settings: Settings;
    #settingRowsPending = true;

    constructor(config: unknown, values: unknown, settings: Settings) {
      super(config as never, values as never);
      this.#settings = settings;
    }

    // The extended protocol always, also without parameters: a simple query message would end
    // the implicit transaction on its own.
    override requiresPreparation() {
      return true;
    }

    override prepare(connection: Connection) {
      const calls = this.#settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
      connection.parse({ text: `SELECT ${calls.join(", ")}`, name: "", types: [] });
      connection.bind({ portal: "", statement: "", values: this.#settings.flat() });
      connection.execute({ portal: "", rows: 0 });
      super.prepare(connection);
    }

    override handleDataRow(message: unknown) {
      if (!this.#settingRowsPending) super.handleDataRow(message);
    }

    override handleCommandComplete(message: unknown, connection: Connection) {
      if (this.#settingRowsPending) this.#settingRowsPending = false;
      else super.handleCommandComplete(message, connection);
    }
  };
}
