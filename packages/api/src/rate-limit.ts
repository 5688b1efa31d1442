/**
 * Rate limits in fixed windows (the model of the IETF draft "RateLimit header fields for HTTP",
 * draft-ietf-httpapi-ratelimit-headers), counted together by every instance through PostgreSQL.
 *
 * A request never waits for the database: each process counts hits in memory and settles with
 * the `rate_limit_hits` table every `settleIntervalMs` (100 ms), sending all its unsettled hits of
 * the current window in one statement, which answers each key's count over all instances. A hit
 * is allowed when the last count learnt plus the hits not yet settled stay within the limit.
 *
 * The overshoot bound: an instance learns what the others counted only when it settles, so each
 * of N instances may allow, past the limit, what reaches it for a key within one settle interval
 * (plus the statement's round trip) before it learns the limit was reached. At worst a key gets
 * `limit + N × (its hits per instance in one interval)` per window; one process alone is exact.
 *
 * When the store fails, each process goes on limiting with its own counts (so each instance
 * enforces the limit alone), keeps its unsettled hits of the window to send when it recovers, and
 * says so once, then once more when the store answers again.
 */
import type { PrismaClient } from "@tasks/db";
import { LRUCache } from "lru-cache";
import { bearerToken, type VerifyToken } from "./auth.ts";

export type RateLimitStore = Pick<PrismaClient, "$queryRaw" | "$executeRaw">;

export interface RateLimitDecision {
  allowed: boolean;
  /** The policy that decided: its name is the one the `RateLimit` fields carry. */
  policy: string;
  /** Hits per window. */
  limit: number;
  /** Hits left in this window after this one (0 when refused). */
  remaining: number;
  /** Seconds until the window ends (at least 1). */
  resetSeconds: number;
  windowSeconds: number;
}

export interface RateLimiterOptions {
  store: RateLimitStore;
  /** Hits per window for each policy; 0 turns a policy off. */
  policies: Record<string, number>;
  windowSeconds: number;
  settleIntervalMs?: number;
  /** Most keys remembered at once; the least recently used go first (default 100 000). */
  maxKeys?: number;
  /** The store failed (its message only: never the error, which may hold a connection string). */
  onStoreError?: (message: string) => void;
  /** The store answers again after a failure. */
  onStoreRecovered?: () => void;
  /** The wall clock (ms), for tests. */
  now?: () => number;
}

export interface RateLimiter {
  /** Counts `cost` hits of `id` under `policy`; null when that policy is off. Never waits. */
  consume(policy: string, id: string, cost?: number): RateLimitDecision | null;
  /** Sends the unsettled hits now (the timer does so every interval). */
  settle(): Promise<void>;
  /** Settles once more and stops the timer. */
  close(): Promise<void>;
}

interface Entry {
  /** Start of the window the counts belong to (ms since the epoch). */
  window: number;
  /** The count over all instances, as the store last answered it (our settled hits included). */
  settled: number;
  /** Hits not sent yet. */
  pending: number;
  /** Hits sent in the statement under way. */
  sending: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { store, policies, onStoreError, onStoreRecovered } = options;
  const windowMs = options.windowSeconds * 1000;
  const now = options.now ?? Date.now;
  const entries = new LRUCache<string, Entry>({ max: options.maxKeys ?? 100_000 });
  /** Keys with hits to send; an entry evicted from the LRU is still sent. */
  const unsettled = new Map<string, Entry>();
  let settling: Promise<void> | undefined;
  let storeDown = false;
  let prunedBefore = 0;

  const timer = setInterval(() => void settle(), options.settleIntervalMs ?? 100);
  timer.unref();

  function consume(policy: string, id: string, cost = 1): RateLimitDecision | null {
    const limit = policies[policy] ?? 0;
    if (limit <= 0) return null;
    const at = now();
    const window = at - (at % windowMs);
    const key = `${policy}:${id}`;
    let entry = entries.get(key);
    if (!entry || entry.window !== window) {
      // A new window: what was counted or in flight for the last one no longer matters.
      entry = { window, settled: 0, pending: 0, sending: 0 };
      entries.set(key, entry);
    }
    const used = entry.settled + entry.pending + entry.sending;
    const allowed = used + cost <= limit;
    if (allowed) {
      entry.pending += cost;
      unsettled.set(key, entry);
    }
    return {
      allowed,
      policy,
      limit,
      remaining: allowed ? Math.max(0, limit - used - cost) : 0,
      resetSeconds: Math.max(1, Math.ceil((window + windowMs - at) / 1000)),
      windowSeconds: options.windowSeconds,
    };
  }

  function settle(): Promise<void> {
    // One statement at a time: hits counted meanwhile wait for the next one.
    settling ??= send().finally(() => {
      settling = undefined;
    });
    return settling;
  }

  async function send(): Promise<void> {
    const at = now();
    const window = at - (at % windowMs);
    const batch: [string, Entry][] = [];
    for (const [key, entry] of unsettled) {
      // Hits of a past window are dropped: that window is over.
      if (entry.window === window && entry.pending > 0) {
        entry.sending = entry.pending;
        entry.pending = 0;
        batch.push([key, entry]);
      }
    }
    unsettled.clear();
    if (batch.length === 0) return;
    const keys = batch.map(([key]) => key);
    const hits = batch.map(([, entry]) => entry.sending);
    const windowStart = new Date(window);
    try {
      // One statement for every key, parameters bound, no named prepared statement (PgBouncer's
      // transaction mode is fine); the table is UNLOGGED, so no WAL is flushed for it.
      const counts = await store.$queryRaw<{ key: string; hits: number }[]>`
        INSERT INTO rate_limit_hits (window_start, key, hits)
        SELECT ${windowStart}::timestamptz, t.key, t.hits
        FROM unnest(${keys}::text[], ${hits}::int[]) AS t(key, hits)
        ON CONFLICT (window_start, key) DO UPDATE SET hits = rate_limit_hits.hits + excluded.hits
        RETURNING key, hits`;
      const counted = new Map(counts.map((row) => [row.key, Number(row.hits)]));
      for (const [key, entry] of batch) {
        if (entry.window !== window) continue;
        entry.settled = Math.max(entry.settled + entry.sending, counted.get(key) ?? 0);
        entry.sending = 0;
      }
      if (storeDown) {
        storeDown = false;
        onStoreRecovered?.();
      }
    } catch (error) {
      // Kept to send again; meanwhile they count here, so this process enforces the limit alone.
      for (const [key, entry] of batch) {
        entry.pending += entry.sending;
        entry.sending = 0;
        unsettled.set(key, entry);
      }
      if (!storeDown) {
        storeDown = true;
        onStoreError?.(reason(error));
      }
      return;
    }
    // Past windows are deleted once per window by each instance that counts anything in it.
    if (prunedBefore < window) {
      prunedBefore = window;
      await store.$executeRaw`DELETE FROM rate_limit_hits WHERE window_start < ${windowStart}::timestamptz`.catch(
        () => {
          prunedBefore = 0;
        },
      );
    }
  }

  return {
    consume,
    settle,
    async close() {
      clearInterval(timer);
      await settling;
      await settle();
    },
  };
}

/** An error's message, last line only (Prisma's begin with where in the code the call was). */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().split("\n").at(-1)?.trim() ?? "";
}

/**
 * The draft's fields (structured-field lists, a quoted policy name): the policy (`q` hits per `w`
 * seconds) and what is left of it (`r` hits, `t` seconds until the window resets).
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const name = JSON.stringify(decision.policy);
  const headers: Record<string, string> = {
    "ratelimit-policy": `${name};q=${decision.limit};w=${decision.windowSeconds}`,
    ratelimit: `${name};r=${decision.remaining};t=${decision.resetSeconds}`,
  };
  if (!decision.allowed) headers["retry-after"] = String(decision.resetSeconds);
  return headers;
}

/** What a refused caller is told, in the error's message. */
export function rateLimitMessage(decision: RateLimitDecision): string {
  return (
    `Too many requests: at most ${decision.limit} calls per ${decision.windowSeconds} s; ` +
    `try again in ${decision.resetSeconds} s.`
  );
}

/** How many calls a tRPC request makes: a batch of N calls costs N. */
export function trpcCalls(path: string, url: URL): number {
  return url.searchParams.get("batch") === "1" ? path.split(",").length : 1;
}

/**
 * The client's address: the socket's peer, or, behind `trustedProxies` proxies that each append
 * to `X-Forwarded-For`, the entry the farthest trusted proxy wrote (entries left of it are the
 * client's own say, which anyone can forge).
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: number,
): string {
  if (trustedProxies > 0 && forwardedFor) {
    const hops = [forwardedFor]
      .flat()
      .join(",")
      .split(",")
      .map((hop) => hop.trim())
      .filter(Boolean);
    const hop = hops[Math.max(0, hops.length - trustedProxies)];
    if (hop) return hop;
  }
  return remoteAddress ?? "unknown";
}

/**
 * Counts a request against its user when its token verifies (the verifier remembers verified
 * tokens, so the context's check after this one is a look-up), else against its address: a
 * missing, malformed or invalid token is the address's, so guessing tokens is limited too.
 */
export async function limitRequest(
  limiter: RateLimiter,
  verifyToken: VerifyToken,
  request: { authorization: string | undefined; address: string; cost: number },
): Promise<RateLimitDecision | null> {
  const token = bearerToken(request.authorization);
  if (token) {
    try {
      const { userId } = await verifyToken(token);
      return limiter.consume("user", userId, request.cost);
    } catch {
      // Not a valid token (or its keys are out of reach): the address pays.
    }
  }
  return limiter.consume("ip", request.address, request.cost);
}

/** The API's policies: calls per minute for each signed-in user and for each address otherwise. */
export interface RateLimits {
  /** Calls per minute of one signed-in user (0: no limit). */
  userPerMinute: number;
  /** Calls per minute from one address without a valid token (0: no limit). */
  anonymousPerMinute: number;
}

/** The API's limiter, or null when both policies are off. */
export function createApiRateLimiter(
  store: RateLimitStore,
  limits: RateLimits,
  options: Pick<RateLimiterOptions, "onStoreError" | "onStoreRecovered" | "settleIntervalMs"> = {},
): RateLimiter | null {
  if (limits.userPerMinute <= 0 && limits.anonymousPerMinute <= 0) return null;
  return createRateLimiter({
    store,
    policies: { user: limits.userPerMinute, ip: limits.anonymousPerMinute },
    windowSeconds: 60,
    ...options,
  });
}
