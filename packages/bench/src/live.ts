/**
 * Live updates under load: how long an event takes from its write to each of the user's open
 * streams (1,000 streams over two API processes on one database), what an idle stream costs a
 * process in memory, and what emitting events costs the write path (the triggers as migrated
 * against the same triggers without the log and the notification, on a database of their own).
 */
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { CHANGES_CHANNEL, parseNotice } from "@tasks/db";
import pg from "pg";
import type { Sampled } from "./scenarios.ts";

/** Streams each user opens: `LIVE_STREAMS_PER_USER`'s default, spread over the processes. */
export const STREAMS_PER_USER = 10;

/**
 * The write path without emission: `tasks_changed()` as migrated, minus the change numbers, the
 * log insert and the notification. It still keeps `users.task_count` and checks the quota, in the
 * same one update of the owner row per statement. An update then has nothing to count, so the
 * update trigger is dropped: writes to `tasks` cost what they did before live updates.
 */
export const QUIET_TRIGGERS_SQL = `
CREATE OR REPLACE FUNCTION "tasks_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  quota integer := nullif(current_setting('app.task_quota', true), '')::integer;
  counted integer := CASE TG_OP WHEN 'INSERT' THEN 1 WHEN 'DELETE' THEN -1 ELSE 0 END;
  highest integer;
BEGIN
  WITH per_owner AS (SELECT "user_id", count(*) AS total FROM changed_rows GROUP BY "user_id"),
  owners AS (
    UPDATE "users" SET "task_count" = "users"."task_count" + counted * per_owner.total
      FROM per_owner WHERE "users"."id" = per_owner."user_id"
    RETURNING "users"."task_count"
  )
  SELECT max(owners."task_count") INTO highest FROM owners;
  IF counted > 0 AND highest > quota THEN
    RAISE EXCEPTION 'task quota of % reached', quota USING ERRCODE = 'TQ001';
  END IF;
  RETURN NULL;
END;
$$;
DROP TRIGGER "tasks_updated" ON "tasks";
`;

export async function quietTriggers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(QUIET_TRIGGERS_SQL);
  } finally {
    await client.end();
  }
}

/** One event of a stream, with the moment its bytes arrived (`performance.now()`). */
export interface StreamEvent {
  id: string | null;
  event: string;
  data: string;
  at: number;
}

export interface EventStream {
  close(): void;
}

/**
 * Opens `GET /api/tasks/events` as the token's user, and calls `onEvent` for each event as it
 * arrives (comments and `retry:` lines are skipped). Resolves once the server answers 200.
 */
export function openEvents(
  base: string,
  token: string,
  onEvent: (event: StreamEvent) => void,
  onEnd: () => void = () => {},
): Promise<EventStream> {
  return new Promise((opened, failed) => {
    const req = request(`${base}/api/tasks/events`, {
      agent: false,
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    });
    let closing = false;
    req.on("error", (error) => (closing ? undefined : failed(error)));
    req.on("response", (res) => {
      res.setEncoding("utf8");
      if (res.statusCode !== 200) {
        let body = "";
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => failed(new Error(`events answered ${res.statusCode}: ${body}`)));
        return;
      }
      let buffer = "";
      res.on("data", (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: StreamEvent = { id: null, event: "message", data: "", at };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon === 0) continue;
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
            if (field === "id") event.id = value;
            else if (field === "event") event.event = value;
            else if (field === "data") data.push(value);
          }
          if (data.length === 0) continue;
          event.data = data.join("\n");
          onEvent(event);
        }
      });
      res.on("close", () => (closing ? undefined : onEnd()));
      opened({
        close() {
          closing = true;
          req.destroy();
        },
      });
    });
    req.end();
  });
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles, in ms. */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1) ?? Number.NaN };
}

export interface DeliveryRound {
  round: number;
  /** Creates sent, and those answered 200. */
  writes: number;
  written: number;
  /** Events each write should reach (the writer's streams), summed; and those that arrived. */
  expected: number;
  delivered: number;
  /** Events out of their stream's order (an id that does not follow the one before). */
  outOfOrder: number;
  /** Deliveries that arrived before their writer had its response. */
  beforeResponse: number;
  /** From the writer sending its create, to each event's arrival. */
  fromSent: Percentiles;
  /** From the commit, as a LISTEN connection of the bench heard its notification. */
  fromCommit: Percentiles;
  /** From the writer receiving its create's answer (after the commit). */
  fromResponse: Percentiles;
  /** The creates' own round trips. */
  write: Percentiles;
}

export interface DeliveryOptions {
  /** The API processes, all on one database; each user's streams and writes go to each in turn. */
  bases: string[];
  users: Pick<Sampled, "sub" | "token">[];
  /** The database's owner URL, for the bench's own LISTEN. */
  listenUrl: string;
  streamsPerUser: number;
  /** Creates a second, spread evenly, for `seconds`, in each of `rounds`. */
  rate: number;
  seconds: number;
  rounds: number;
  /** An untimed round first, this long. */
  warmupSeconds?: number;
  /** How long to wait for the last events of a round. */
  drainMs?: number;
  log?: (line: string) => void;
}

interface Write {
  sub: string;
  sentAt: number;
  respondedAt?: number;
}

interface Delivery {
  taskId: string;
  sub: string;
  seq: string;
  at: number;
}

/**
 * Opens every user's streams (`streamsPerUser` each, over `bases` in turn), then, round after
 * round, creates tasks at a steady rate as those users (through each process in turn) and times
 * each `created` event's arrival on each of the writer's streams. All instants are this process's
 * `performance.now()`.
 */
export async function measureDelivery(options: DeliveryOptions): Promise<DeliveryRound[]> {
  const { bases, users, streamsPerUser, rate, seconds } = options;
  const drainMs = options.drainMs ?? 5_000;
  const log = options.log ?? (() => {});
  let deliveries: Delivery[] = [];
  let committed = new Map<string, number>();
  let outOfOrder = 0;
  const ended: string[] = [];
  const listener = new pg.Client({ connectionString: options.listenUrl });
  await listener.connect();
  listener.on("notification", ({ channel, payload }) => {
    const at = performance.now();
    if (channel === CHANGES_CHANNEL && parseNotice(payload)) committed.set(payload as string, at);
  });
  await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
  const streams: EventStream[] = [];
  try {
    let ready = 0;
    const opening: (() => Promise<EventStream>)[] = [];
    for (const user of users) {
      for (let i = 0; i < streamsPerUser; i++) {
        const base = bases[i % bases.length] as string;
        let last: number | null = null;
        opening.push(() =>
          openEvents(
            base,
            user.token,
            (event) => {
              const seq = Number(event.id);
              if (event.event === "refetch") {
                ready++;
              } else if (last !== null && seq !== last + 1) {
                outOfOrder++;
              }
              last = seq;
              if (event.event === "created") {
                const { task } = JSON.parse(event.data) as { task: { id: string } };
                deliveries.push({
                  taskId: task.id,
                  sub: user.sub,
                  seq: event.id ?? "",
                  at: event.at,
                });
              }
            },
            () => ended.push(user.sub),
          ),
        );
      }
    }
    // Opened a hundred at a time, so that no opening waits long on the pools.
    for (let from = 0; from < opening.length; from += 100) {
      streams.push(...(await Promise.all(opening.slice(from, from + 100).map((open) => open()))));
    }
    await until(() => ready === opening.length, 10_000, "every stream's first event");
    log(`${streams.length} streams open over ${bases.length} processes`);

    const rounds: DeliveryRound[] = [];
    const interval = 1000 / rate;
    for (let round = options.warmupSeconds ? -1 : 0; round < options.rounds; round++) {
      const total = Math.round(rate * (round < 0 ? (options.warmupSeconds ?? 0) : seconds));
      deliveries = [];
      committed = new Map();
      outOfOrder = 0;
      const writes = new Map<string, Write>();
      let failed = 0;
      const inFlight: Promise<void>[] = [];
      const startedAt = performance.now();
      for (let k = 0; k < total; k++) {
        const wait = startedAt + k * interval - performance.now();
        if (wait > 1) await new Promise((done) => setTimeout(done, wait));
        const user = users[k % users.length] as Sampled;
        // Each user's writes go to each process in turn.
        const base = bases[(k + Math.floor(k / users.length)) % bases.length] as string;
        inFlight.push(
          create(base, user, `Live task ${round}-${k}`).then(
            (written) => {
              if (written) writes.set(written.id, { sub: user.sub, ...written });
              else failed++;
            },
            () => {
              failed++;
            },
          ),
        );
      }
      await Promise.all(inFlight);
      const expected = writes.size * streamsPerUser;
      await until(() => deliveries.length >= expected, drainMs).catch(() => {});
      const fromSent: number[] = [];
      const fromCommit: number[] = [];
      const fromResponse: number[] = [];
      let beforeResponse = 0;
      let delivered = 0;
      for (const delivery of deliveries) {
        const write = writes.get(delivery.taskId);
        if (!write?.respondedAt) continue;
        delivered++;
        fromSent.push(delivery.at - write.sentAt);
        fromResponse.push(delivery.at - write.respondedAt);
        if (delivery.at < write.respondedAt) beforeResponse++;
        const commit = committed.get(`${delivery.seq}:${delivery.sub}`);
        if (commit !== undefined) fromCommit.push(delivery.at - commit);
      }
      if (round < 0) continue;
      const result: DeliveryRound = {
        round,
        writes: total,
        written: total - failed,
        expected,
        delivered,
        outOfOrder,
        beforeResponse,
        fromSent: percentiles(fromSent),
        fromCommit: percentiles(fromCommit),
        fromResponse: percentiles(fromResponse),
        write: percentiles([...writes.values()].map((w) => (w.respondedAt ?? 0) - w.sentAt)),
      };
      rounds.push(result);
      log(
        `live delivery, round ${round + 1}/${options.rounds}: ${result.delivered}/${result.expected} events, from the commit p50 ${result.fromCommit.p50.toFixed(1)} ms, p99 ${result.fromCommit.p99.toFixed(1)} ms; from the response p50 ${result.fromResponse.p50.toFixed(1)} ms, p99 ${result.fromResponse.p99.toFixed(1)} ms`,
      );
    }
    if (ended.length > 0) throw new Error(`${ended.length} streams ended during the measure`);
    return rounds;
  } finally {
    for (const stream of streams) stream.close();
    await listener.end();
  }
}

/** `task.create` as the user; its id and when it was sent and answered, or null if refused. */
async function create(base: string, user: Pick<Sampled, "token">, title: string) {
  const sentAt = performance.now();
  const response = await fetch(`${base}/trpc/task.create`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
    body: JSON.stringify({ json: { title, priority: "LOW" } }),
  });
  const body = (await response.json()) as { result?: { data: { json: { id: string } } } };
  const respondedAt = performance.now();
  const id = body.result?.data.json.id;
  return response.status === 200 && id ? { id, sentAt, respondedAt } : null;
}

async function until(done: () => boolean, timeoutMs: number, what = "the condition") {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A process's memory: its resident set (VmRSS) and its V8 heap in use after a full collection. */
export interface MemorySample {
  rssBytes: number;
  heapBytes: number;
}

export interface MemoryRound {
  round: number;
  streams: number;
  before: MemorySample;
  after: MemorySample;
}

/** The resident set of a process, from `/proc/<pid>/status` (VmRSS), in bytes. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

export interface ProbedServer {
  base: string;
  /** Collects the garbage in the process (the probe), then reads its memory. */
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

/**
 * Per round, a fresh API process: warmed (streams opened and closed), its memory read, then
 * `streams` idle streams opened (`streamsPerUser` per user), and its memory read again once all
 * have had their first event.
 */
export async function measureIdleMemory(options: {
  serve(): Promise<ProbedServer>;
  users: Pick<Sampled, "sub" | "token">[];
  streams: number;
  streamsPerUser: number;
  rounds: number;
  log?: (line: string) => void;
}): Promise<MemoryRound[]> {
  const rounds: MemoryRound[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const server = await options.serve();
    try {
      const open = async (count: number) => {
        let ready = 0;
        const streams: EventStream[] = [];
        for (let from = 0; from < count; from += 100) {
          const batch = Array.from({ length: Math.min(100, count - from) }, (_, i) => {
            const user = options.users[Math.floor((from + i) / options.streamsPerUser)];
            if (!user) throw new Error("not enough users for the streams");
            return openEvents(server.base, user.token, (event) => {
              if (event.event === "refetch") ready++;
            });
          });
          streams.push(...(await Promise.all(batch)));
        }
        await until(() => ready === count, 10_000, "every stream's first event");
        return streams;
      };
      // Warm: the stream's code has run and its pools are filled before the first reading.
      for (const stream of await open(Math.min(options.streams, 200))) stream.close();
      await new Promise((done) => setTimeout(done, 500));
      const before = await server.memory();
      const streams = await open(options.streams);
      await new Promise((done) => setTimeout(done, 500));
      const after = await server.memory();
      for (const stream of streams) stream.close();
      rounds.push({ round, streams: options.streams, before, after });
      options.log?.(
        `idle streams, round ${round + 1}/${options.rounds}: RSS ${((after.rssBytes - before.rssBytes) / options.streams / 1024).toFixed(1)} KiB, heap ${((after.heapBytes - before.heapBytes) / options.streams / 1024).toFixed(1)} KiB per stream`,
      );
    } finally {
      await server.stop();
    }
  }
  return rounds;
}
