import { DeadlineExceededError } from "./deadline.ts";
import { Prisma } from "./generated/prisma/client.ts";

/**
 * PostgreSQL's SQLSTATEs for a database that is going away or cannot take the
 * work now: connection exceptions (class 08), operator intervention such as a
 * shutdown (57P01–57P05; 57014 is a statement timeout), and insufficient
 * resources (class 53, e.g. too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|57014$)/;

/** Prisma's own codes for a server it cannot reach, or that timed out or closed the connection. */
const UNAVAILABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);

/**
 * The drivers' own errors for a server that is down or does not answer: node-postgres
 * (and Neon's driver, its fork) raise these as plain errors, without a code.
 */
const UNAVAILABLE_DRIVER_MESSAGES = [
  "Query read timeout",
  "Connection terminated due to connection timeout",
  "Connection terminated unexpectedly",
  "timeout exceeded when trying to connect",
  // A pooled connection whose socket died under a statement, handed out again.
  "Client has encountered a connection error and is not queryable",
  // Neon's driver: the WebSocket endpoint refused the handshake (e.g. while it restarts).
  "Unexpected server response",
];
/** Driver adapter errors (Prisma's own kinds) for a connection that is gone or cannot be had. */
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "DatabaseNotReachable",
]);

/**
 * Socket failures. Neon's driver reports them as WebSocket error events, not errors, which
 * arrive wrapped with only their message (`connect ECONNREFUSED 127.0.0.1:5432`).
 */
const UNAVAILABLE_SOCKET_CODES = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH)\b/;

/** Whether `error` says the database is unreachable or unresponsive, rather than that a query was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_PRISMA_CODES.has(error.code)) return true;
  }
  const cause = adapterCause(error);
  if (cause) {
    return (
      UNAVAILABLE_ADAPTER_KINDS.has(String(cause.kind)) ||
      UNAVAILABLE_SQLSTATE.test(sqlState(error) ?? "")
    );
  }
  if (!(error instanceof Error)) return false;
  const { code = "" } = error as NodeJS.ErrnoException;
  return (
    UNAVAILABLE_SOCKET_CODES.test(code) ||
    UNAVAILABLE_SOCKET_CODES.test(error.message) ||
    UNAVAILABLE_DRIVER_MESSAGES.some((message) => error.message.includes(message))
  );
}

interface AdapterCause {
  kind?: unknown;
  code?: unknown;
  message?: unknown;
}

/**
 * What the driver adapter reported: wrapped in a Prisma error (P2039 and others), or as its own
 * `DriverAdapterError`, which is how a failure inside a transaction arrives.
 */
function adapterCause(error: unknown): AdapterCause | undefined {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    const meta = error.meta as { driverAdapterError?: { cause?: AdapterCause } } | undefined;
    return meta?.driverAdapterError?.cause;
  }
  if (error instanceof Error && error.name === "DriverAdapterError") {
    const cause = (error as { cause?: unknown }).cause;
    return typeof cause === "object" && cause !== null ? (cause as AdapterCause) : undefined;
  }
  return undefined;
}

/** The SQLSTATE behind a database error, if PostgreSQL gave one. */
export function sqlState(error: unknown): string | undefined {
  const code = adapterCause(error)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Whether PostgreSQL cancelled the statement at its `statement_timeout` (or the deadline had passed). */
export function isTimedOut(error: unknown): boolean {
  return error instanceof DeadlineExceededError || sqlState(error) === "57014";
}

/** The quota that the `tasks_count_inserted` trigger refused an insert at, if `error` is that refusal. */
export function taskQuotaReached(error: unknown): number | undefined {
  if (sqlState(error) !== "TQ001") return undefined;
  const quota = /quota of (\d+)/.exec(String(adapterCause(error)?.message ?? ""))?.[1];
  return quota === undefined ? undefined : Number(quota);
}
