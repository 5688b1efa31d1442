/**
 * The database client's metrics, after OpenTelemetry's semantic conventions for database
 * clients: each statement's duration (`db.client.operation.duration`) and the pool's use
 * (`db.client.connection.count`, `.pending_requests`, `.max`). Through `@opentelemetry/api`
 * only: without an SDK started (the default), each is a no-op.
 *
 * In place of node-postgres's instrumentation's metrics, which counts only the statements it
 * traces (those of sampled requests: see `@tasks/telemetry`): here every statement is timed,
 * and the pool is read when the metrics are collected rather than counted at each of its events.
 */
import { type Attributes, type Histogram, metrics } from "@opentelemetry/api";

type QueryMethod = (config: unknown, values?: unknown, callback?: unknown) => unknown;
type Callback = (error: unknown, result?: unknown) => void;

/** What node-postgres's pool and Neon's (a fork of it) share, as far as this module uses it. */
export interface MeasuredPool {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  on(event: "connect", listener: (client: { query: QueryMethod }) => void): unknown;
}

export interface PoolTarget {
  /** The database's name (`db.namespace`), host and port: never a password. */
  database: string;
  host: string;
  port: number;
  max: number;
}

const SCOPE = "@tasks/db";
const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Times every statement `pool` runs, and reports its connections when metrics are collected. */
export function measurePool(pool: MeasuredPool, target: PoolTarget): void {
  const poolName = `${target.host}:${target.port}/${target.database}`;
  const common: Attributes = {
    "db.system.name": "postgresql",
    "db.namespace": target.database,
    "server.address": target.host,
    "server.port": target.port,
  };
  // One set of attributes per operation name (SELECT, INSERT, COMMIT, …), made once.
  const byOperation = new Map<string, Attributes>();
  const attributesOf = (config: unknown, error: unknown): Attributes => {
    const operation = operationName(config);
    let attributes = byOperation.get(operation);
    if (!attributes) {
      attributes = { ...common, "db.operation.name": operation };
      if (byOperation.size < 64) byOperation.set(operation, attributes);
    }
    return error === undefined ? attributes : { ...attributes, "error.type": errorType(error) };
  };

  // Made at the first connection: by then the process has started its SDK, if any.
  let duration: Histogram | undefined;
  pool.on("connect", (client) => {
    duration ??= instruments(pool, target.max, poolName);
    const histogram = duration;
    client.query = timed(client.query.bind(client), (started, config, error) =>
      histogram.record((performance.now() - started) / 1000, attributesOf(config, error)),
    );
  });
}

function instruments(pool: MeasuredPool, max: number, poolName: string): Histogram {
  const meter = metrics.getMeter(SCOPE);
  const named = { "db.client.connection.pool.name": poolName };
  const used = { ...named, "db.client.connection.state": "used" };
  const idle = { ...named, "db.client.connection.state": "idle" };
  meter
    .createObservableUpDownCounter("db.client.connection.count", {
      description: "The pool's connections, by state.",
      unit: "{connection}",
    })
    .addCallback((result) => {
      result.observe(pool.totalCount - pool.idleCount, used);
      result.observe(pool.idleCount, idle);
    });
  meter
    .createObservableUpDownCounter("db.client.connection.pending_requests", {
      description: "Requests waiting for a connection of the pool.",
      unit: "{request}",
    })
    .addCallback((result) => result.observe(pool.waitingCount, named));
  meter
    .createObservableUpDownCounter("db.client.connection.max", {
      description: "The most connections the pool opens.",
      unit: "{connection}",
    })
    .addCallback((result) => result.observe(max, named));
  return meter.createHistogram("db.client.operation.duration", {
    description: "How long each statement takes, as the client sees it.",
    unit: "s",
    advice: { explicitBucketBoundaries: BUCKETS },
  });
}

/**
 * `query`, calling `done` when the statement has its answer, in each of the driver's forms:
 * a callback argument, a query object's callback, or the promise it returns.
 */
function timed(
  query: QueryMethod,
  done: (started: number, config: unknown, error?: unknown) => void,
): QueryMethod {
  return (config, values, callback) => {
    const started = performance.now();
    const after =
      (next: Callback): Callback =>
      (error, result) => {
        done(started, config, error ?? undefined);
        next(error, result);
      };
    if (typeof callback === "function") return query(config, values, after(callback as Callback));
    if (typeof values === "function") return query(config, after(values as Callback));
    const submitted = config as { submit?: unknown; callback?: Callback } | null;
    if (typeof submitted?.submit === "function") {
      if (typeof submitted.callback === "function") submitted.callback = after(submitted.callback);
      return query(config, values);
    }
    const result = query(config, values);
    if (result instanceof Promise) {
      result.then(
        () => done(started, config),
        (error: unknown) => done(started, config, error),
      );
    }
    return result;
  };
}

/** The statement's first keyword (`SELECT`, `BEGIN`), the convention's low-cardinality name. */
function operationName(config: unknown): string {
  const text = typeof config === "string" ? config : (config as { text?: unknown } | null)?.text;
  if (typeof text !== "string") return "_OTHER";
  const keyword = /^\s*([A-Za-z]+)/.exec(text)?.[1];
  return keyword ? keyword.toUpperCase() : "_OTHER";
}

/** PostgreSQL's SQLSTATE where there is one (`23505`), else the error's class. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.length > 0) return code;
  return error instanceof Error ? error.name : "_OTHER";
}
