import {
  type ChangeNotice,
  forUser,
  type LoggedChange,
  latestChange,
  type PrismaClient,
  readChanges,
  withOwnDeadline,
} from "@tasks/db";
import { TRPCError, type TrackedEnvelope, tracked } from "@trpc/server";
import type { z } from "zod";
import { type Task, taskSelect } from "./router/task.ts";

/** One change as a stream delivers it: what a screen needs to apply it, no more. */
export type LiveChange =
  | { kind: "created" | "updated"; task: z.output<typeof Task> }
  | { kind: "deleted"; id: string }
  /** The account is gone; the stream ends. */
  | { kind: "account_deleted" }
  /**
   * Refetch what you show: the stream starts here without the history before (a new stream,
   * or one that comes back from further than the retention window or `catchUpMax`).
   */
  | { kind: "refetch" };

export interface LiveLimits {
  /** Open streams of one user in this process; more are refused (TOO_MANY_REQUESTS). */
  perUser: number;
  /** Open streams in this process; more are refused (SERVICE_UNAVAILABLE, so clients retry). */
  total: number;
  /** Most changes a stream that comes back is sent to catch up; further back, it gets `refetch`. */
  catchUpMax?: number;
  /** How long each read of a stream may take (ms). */
  readTimeoutMs: number;
}

/** Changes read per query. */
const PAGE = 100;

/** The stream's event ids are the user's change numbers. */
function parseEventId(id: string | null | undefined): number | null {
  return id && /^\d{1,10}$/.test(id) ? Number(id) : null;
}

interface Follower {
  /** The number of the last change this stream has sent. */
  cursor: number;
  /** The highest change number a notice announced. */
  noticed: number;
  /** Set by a notice or a resync: there may be more to read. */
  pending: boolean;
  wake(): void;
}

export type LiveChanges = ReturnType<typeof createLiveChanges>;

/**
 * The live streams of this process. Each one sends its user's changes from the changes log, in
 * order, each tracked with its number; a notice (from the process's LISTEN connection) only
 * wakes the user's streams, which read what follows their own position. Nothing is buffered: a
 * stream whose client reads slowly holds its position, not the changes, and reads them when the
 * client is ready. Streams of one user at the same position share their reads.
 */
export function createLiveChanges(db: PrismaClient, limits: LiveLimits) {
  const catchUpMax = limits.catchUpMax ?? 1_000;
  const followers = new Map<string, Set<Follower>>();
  const reads = new Map<string, Promise<Resolved[]>>();
  /**
   * Notices per user so far: a read is shared only by streams that ask before the next notice,
   * so none takes a read that began before the change it was woken for.
   */
  const notices = new Map<string, number>();
  let open = 0;
  let closing = false;

  function wakeAll() {
    for (const [userId, mine] of followers) {
      notices.set(userId, (notices.get(userId) ?? 0) + 1);
      for (const follower of mine) follower.wake();
    }
  }

  function read<T>(work: () => Promise<T>): Promise<T> {
    // A stream outlives its request: each read gets a deadline of its own.
    return withOwnDeadline(limits.readTimeoutMs, work);
  }

  /** The changes after `after`, resolved to what a stream sends; one query pair per position. */
  function page(userId: string, after: number): Promise<Resolved[]> {
    const key = `${notices.get(userId) ?? 0}:${after}:${userId}`;
    let reading = reads.get(key);
    if (!reading) {
      reading = read(() => resolveChanges(db, userId, after)).finally(() => reads.delete(key));
      reads.set(key, reading);
    }
    return reading;
  }

  /** Why a new stream of `userId` would be refused now, if it would. */
  function refusal(userId: string): TRPCError | null {
    if (closing) return restarting();
    if ((followers.get(userId)?.size ?? 0) >= limits.perUser) {
      return new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: `At most ${limits.perUser} live streams per user are open at once (LIVE_STREAMS_PER_USER).`,
      });
    }
    if (open >= limits.total) {
      return new TRPCError({
        code: "SERVICE_UNAVAILABLE",
        message:
          "This server holds as many live streams as it takes (LIVE_STREAMS_MAX); try again shortly.",
      });
    }
    return null;
  }

  async function* follow(
    userId: string,
    lastEventId: string | null | undefined,
    signal: AbortSignal | undefined,
    /** When the caller's token expires (ms since the epoch): the stream ends then, UNAUTHORIZED. */
    until?: number,
  ): AsyncGenerator<TrackedEnvelope<LiveChange>, void> {
    const refused = refusal(userId);
    if (refused) throw refused;
    const mine = followers.get(userId) ?? new Set<Follower>();
    let woken: (() => void) | undefined;
    const follower: Follower = {
      cursor: 0,
      noticed: 0,
      pending: true,
      wake() {
        follower.pending = true;
        woken?.();
      },
    };
    // Registered before the first read: a change committed meanwhile wakes it.
    mine.add(follower);
    followers.set(userId, mine);
    open++;
    const onAbort = () => woken?.();
    signal?.addEventListener("abort", onAbort);
    let expired = false;
    const expiry =
      until === undefined
        ? undefined
        : setTimeout(
            () => {
              expired = true;
              follower.wake();
            },
            Math.min(Math.max(0, until - Date.now()), MAX_TIMER_MS),
          );
    expiry?.unref();
    try {
      const latest = await read(() => latestChange(db, userId));
      if (latest === null) {
        yield tracked("0", { kind: "account_deleted" });
        return;
      }
      const last = parseEventId(lastEventId);
      if (last === null || last > latest || latest - last > catchUpMax) {
        follower.cursor = latest;
        yield tracked(String(latest), { kind: "refetch" });
      } else {
        follower.cursor = last;
      }
      for (;;) {
        while (follower.pending && !signal?.aborted) {
          follower.pending = false;
          for (;;) {
            const changes = await page(userId, follower.cursor);
            const first = changes[0];
            if (!first) break;
            if (first.seq !== follower.cursor + 1) {
              // The changes right after this position are gone (pruned): start afresh.
              follower.cursor = (await read(() => latestChange(db, userId))) ?? first.seq - 1;
              yield tracked(String(follower.cursor), { kind: "refetch" });
              continue;
            }
            for (const { seq, change } of changes) {
              follower.cursor = seq;
              yield tracked(String(seq), change);
              if (change.kind === "account_deleted") return;
            }
            if (changes.length < PAGE) break;
          }
        }
        if (signal?.aborted) return;
        if (closing) throw restarting();
        if (expired) throw tokenExpired();
        await new Promise<void>((resolve) => {
          woken = resolve;
          if (follower.pending || closing || signal?.aborted) resolve();
        });
        woken = undefined;
      }
    } finally {
      clearTimeout(expiry);
      signal?.removeEventListener("abort", onAbort);
      mine.delete(follower);
      if (mine.size === 0 && followers.get(userId) === mine) {
        followers.delete(userId);
        notices.delete(userId);
      }
      open--;
    }
  }

  return {
    follow,
    refusal,
    /** A change was committed: wake the user's streams that are behind it. */
    notice({ userId, seq }: ChangeNotice) {
      const mine = followers.get(userId);
      if (!mine) return;
      notices.set(userId, (notices.get(userId) ?? 0) + 1);
      for (const follower of mine) {
        follower.noticed = Math.max(follower.noticed, seq);
        if (seq > follower.cursor) follower.wake();
      }
    },
    /** Notices may have been missed (the listener reconnected): every stream checks for itself. */
    resync: wakeAll,
    /** Ends every stream with SERVICE_UNAVAILABLE, which clients retry (elsewhere, or after a restart). */
    close() {
      closing = true;
      wakeAll();
    },
    /** Open streams, users with one, and how far the furthest behind is from its last notice. */
    stats() {
      let behind = 0;
      for (const mine of followers.values()) {
        for (const { noticed, cursor } of mine) behind = Math.max(behind, noticed - cursor);
      }
      return { streams: open, users: followers.size, behind };
    },
  };
}

/** The longest a timer waits (setTimeout's limit, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A stream lives no longer than the token that opened it: the client reconnects with a fresh one. */
function tokenExpired() {
  return new TRPCError({
    code: "UNAUTHORIZED",
    message: "The token expired; reconnect with a fresh one to resume.",
  });
}

function restarting() {
  return new TRPCError({
    code: "SERVICE_UNAVAILABLE",
    message: "The server is restarting; reconnect to resume.",
  });
}

interface Resolved {
  seq: number;
  change: LiveChange;
}

/**
 * The user's changes after `after`, with the current state of each created or updated task,
 * read through the user's scoped client. A task that is gone by then is sent as deleted (its
 * own deletion follows in the log).
 */
async function resolveChanges(
  db: PrismaClient,
  userId: string,
  after: number,
): Promise<Resolved[]> {
  const logged = await readChanges(db, userId, after, PAGE);
  const shown = [
    ...new Set(
      logged.flatMap(({ kind, taskId }) => (taskId && kind !== "deleted" ? [taskId] : [])),
    ),
  ];
  const tasks =
    shown.length === 0
      ? []
      : await forUser(db, userId).task.findMany({
          where: { id: { in: shown } },
          select: taskSelect,
        });
  const byId = new Map(tasks.map((task) => [task.id, task]));
  return logged.map(({ seq, kind, taskId }: LoggedChange) => {
    if (kind === "account_deleted" || !taskId) return { seq, change: { kind: "account_deleted" } };
    const task = kind === "deleted" ? undefined : byId.get(taskId);
    if (kind === "deleted" || !task) return { seq, change: { kind: "deleted", id: taskId } };
    return { seq, change: { kind, task } };
  });
}
