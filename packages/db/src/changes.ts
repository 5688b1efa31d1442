import { randomUUID } from "node:crypto";
import type { ChangeKind, PrismaClient } from "./generated/prisma/client.ts";
import { asRowOwner } from "./row-security.ts";
import { forUser } from "./scoped.ts";

/**
 * The changes log (`task_changes`, see the `live_updates` migration): triggers number each
 * user's changes 1, 2, 3, … in commit order and NOTIFY `<seq>:<user id>` on this channel.
 */
export const CHANGES_CHANNEL = "task_changes";

/** One change of a user's, as logged. */
export interface LoggedChange {
  seq: number;
  kind: ChangeKind;
  /** Null for `account_deleted`. */
  taskId: string | null;
}

/**
 * The user's changes after `after`, oldest first, at most `limit`: filtered by the user, and read
 * as the user, so row-level security keeps it to their rows too.
 */
export function readChanges(
  db: PrismaClient,
  userId: string,
  after: number,
  limit: number,
): Promise<LoggedChange[]> {
  // Awaited inside: a Prisma query runs when awaited, and only inside does it carry the user.
  return asRowOwner(
    userId,
    async () =>
      await db.taskChange.findMany({
        where: { userId, seq: { gt: after } },
        orderBy: { seq: "asc" },
        take: limit,
        select: { seq: true, kind: true, taskId: true },
      }),
  );
}

/** The number of the user's latest change (0 before any), or null when the account is gone. */
export async function latestChange(db: PrismaClient, userId: string): Promise<number | null> {
  const user = await forUser(db, userId).user.findUnique({
    where: { id: userId },
    select: { lastChange: true },
  });
  return user?.lastChange ?? null;
}

/** A notification: the user's changes now go up to `seq`. */
export interface ChangeNotice {
  userId: string;
  seq: number;
}

/** Reads a `<seq>:<user id>` payload; null for anything else. */
export function parseNotice(payload: string | undefined): ChangeNotice | null {
  const match = /^(\d{1,10}):(.+)$/s.exec(payload ?? "");
  return match?.[1] && match[2] ? { seq: Number(match[1]), userId: match[2] } : null;
}

/** What a listening connection needs of a driver's client (node-postgres and Neon's alike). */
export interface ListenConnection {
  connect(): Promise<unknown>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(
    event: "notification",
    listener: (message: { channel: string; payload?: string }) => void,
  ): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
}

export interface ChangeListenerOptions {
  /** A new, unconnected client on a connection that keeps a session (not PgBouncer's transaction mode). */
  client(): ListenConnection;
  onNotice(notice: ChangeNotice): void;
  /**
   * The listener is (again) listening: notices sent while it was not are lost, so whoever
   * follows changes reads what they missed.
   */
  onListening(): void;
  /** The connection failed or could not be made; the next attempt follows in `retryInMs`. */
  onFailure?(reason: string, retryInMs: number): void;
  /** How often delivery is checked end to end, with a probe (ms, default 30 000). */
  checkEveryMs?: number;
  /** How long a probe may take to come back (ms, default 5 000). */
  probeTimeoutMs?: number;
  /** Backoff between attempts: doubles from `minRetryMs` up to `maxRetryMs` (defaults 100, 10 000). */
  minRetryMs?: number;
  maxRetryMs?: number;
}

const NOT_HEARD =
  "the listening connection did not hear its own notification in time (DATABASE_LISTEN_URL must reach PostgreSQL directly, not PgBouncer in transaction mode)";

export interface ChangeListener {
  /** Resolves once listening for the first time. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * One connection per process that LISTENs on the changes channel, and comes back with backoff
 * (and jitter) whenever it drops or fails its check. The check is a probe, end to end: the
 * connection notifies itself and must hear it back, so a connection that still answers queries
 * but no longer delivers notifications is replaced too.
 */
export function listenForChanges(options: ChangeListenerOptions): ChangeListener {
  const checkEveryMs = options.checkEveryMs ?? 30_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 5_000;
  const minRetryMs = options.minRetryMs ?? 100;
  const maxRetryMs = options.maxRetryMs ?? 10_000;
  let closed = false;
  let current: ListenConnection | undefined;
  let retryMs = minRetryMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let checkTimer: NodeJS.Timeout | undefined;
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });

  function fail(client: ListenConnection, error: unknown) {
    if (client !== current || closed) return;
    current = undefined;
    clearInterval(checkTimer);
    client.end().catch(() => {});
    const wait = Math.round(retryMs * (0.5 + Math.random() / 2));
    retryMs = Math.min(retryMs * 2, maxRetryMs);
    // The reason's message only: a driver's error may carry its connection string.
    options.onFailure?.(error instanceof Error ? error.message : String(error), wait);
    retryTimer = setTimeout(attempt, wait);
    retryTimer.unref();
  }

  async function attempt() {
    if (closed) return;
    const client = options.client();
    current = client;
    client.on("error", (error) => fail(client, error));
    client.on("end", () => fail(client, new Error("the listening connection closed")));
    const probes = new Map<string, () => void>();
    client.on("notification", ({ channel, payload }) => {
      if (channel !== CHANGES_CHANNEL) return;
      const notice = parseNotice(payload);
      if (notice) options.onNotice(notice);
      else if (payload) probes.get(payload)?.();
    });
    /** Notifies this connection, and waits to hear it back. */
    const probe = async () => {
      const payload = `probe ${randomUUID()}`;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.all([
          new Promise<void>((heard, unheard) => {
            probes.set(payload, heard);
            timer = setTimeout(() => unheard(new Error(NOT_HEARD)), probeTimeoutMs);
          }),
          client.query(`SELECT pg_notify('${CHANGES_CHANNEL}', '${payload}')`),
        ]);
      } finally {
        clearTimeout(timer);
        probes.delete(payload);
      }
    };
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      await probe();
    } catch (error) {
      fail(client, error);
      return;
    }
    if (client !== current || closed) return;
    retryMs = minRetryMs;
    checkTimer = setInterval(() => {
      probe().catch((error: unknown) => fail(client, error));
    }, checkEveryMs);
    checkTimer.unref();
    listening();
    options.onListening();
  }

  void attempt();
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(checkTimer);
      const client = current;
      current = undefined;
      await client?.end().catch(() => {});
    },
  };
}
