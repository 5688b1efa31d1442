/**
 * Live updates: `task.changes` over server-sent events, and its plain REST twin, on the real API
 * server and database (PostgreSQL's LISTEN/NOTIFY, or the embedded database's).
 */
import { connect } from "node:net";
import { Writable } from "node:stream";
import type { LiveChange } from "@tasks/api";
import { testServerUrl } from "@tasks/db/testing";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.ts";
import {
  authConfigs,
  type Jwks,
  signToken,
  startJwks,
  startTestApi,
  type TestApi,
} from "./support.ts";

let jwks: Jwks;
let api: TestApi;
/** Every line the API server logs. */
const logLines: string[] = [];

beforeAll(async () => {
  jwks = await startJwks();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).trim().split("\n"));
      done();
    },
  });
  api = await startTestApi(authConfigs(jwks).jwks, {
    live: { perUser: 3 },
    logger: createLogger("info", sink),
  });
});
afterAll(async () => {
  await api?.stop();
  await jwks?.close();
});

const token = (sub: string) => signToken({ sub, email: `${sub}@example.com` }, { jwks });

interface Received {
  id: string;
  change: LiveChange;
}

/** Follows `task.changes` as `sub`, collecting what arrives. */
async function follow(sub: string, lastEventId?: string) {
  const client = api.client(await token(sub));
  const received: Received[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const subscription = client.task.changes.subscribe(
    { lastEventId },
    {
      onData: ({ id, data }) => received.push({ id, change: data }),
      onError: (error) => errors.push(error),
      onComplete: () => {
        completed = true;
      },
    },
  );
  return {
    client,
    received,
    errors,
    get completed() {
      return completed;
    },
    kinds: () => received.map(({ change }) => change.kind),
    /** Waits until `count` events have arrived. */
    async until(count: number, timeout = 5_000) {
      await expect
        .poll(() => received.length, { timeout, interval: 10 })
        .toBeGreaterThanOrEqual(count);
      return received;
    },
    stop: () => subscription.unsubscribe(),
  };
}

describe("task.changes", () => {
  it("streams the user's own changes in commit order, numbered, and nobody else's", async () => {
    const alice = await follow("live-alice");
    const bob = await follow("live-bob");
    // A new stream begins with `refetch`: what the screen holds may be older than the stream.
    await alice.until(1);
    await bob.until(1);
    expect(alice.received[0]).toEqual({ id: "0", change: { kind: "refetch" } });

    const task = await alice.client.task.create.mutate({ title: "Write the report" });
    await alice.client.task.update.mutate({ id: task.id, completed: true });
    await alice.client.task.delete.mutate({ id: task.id });
    const received = await alice.until(4);
    expect(received.slice(1).map(({ id }) => id)).toEqual(["1", "2", "3"]);
    expect(alice.kinds().at(-1)).toBe("deleted");
    // Each names the task (with its state when read: a task deleted by then is sent as deleted).
    for (const { change } of received.slice(1)) {
      expect("task" in change ? change.task.id : "id" in change && change.id).toBe(task.id);
    }

    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bob.received).toHaveLength(1);
    alice.stop();
    bob.stop();
  });

  it("sends a task's current fields with created and updated", async () => {
    const carol = await follow("live-carol");
    await carol.until(1);
    const task = await carol.client.task.create.mutate({ title: "Plan", priority: "HIGH" });
    await carol.until(2);
    expect(carol.received[1]?.change).toEqual({ kind: "created", task });
    const updated = await carol.client.task.update.mutate({ id: task.id, title: "Plan again" });
    await carol.until(3);
    expect(carol.received[2]?.change).toEqual({ kind: "updated", task: updated });
    carol.stop();
  });

  it("a rolled-back write sends nothing, and takes no number", async () => {
    const dave = await follow("live-dave");
    await dave.until(1);
    await dave.client.task.create.mutate({ title: "First" });
    await dave.until(2);
    await expect(
      api.db.$transaction(async (tx) => {
        await tx.task.create({ data: { title: "Rolled back", userId: "live-dave" } });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await dave.client.task.create.mutate({ title: "Second" });
    await dave.until(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(dave.received.map(({ id }) => id)).toEqual(["0", "1", "2"]);
    expect(
      dave.received.map(({ change }) => (change.kind === "created" ? change.task.title : null)),
    ).toEqual([null, "First", "Second"]);
    dave.stop();
  });

  it("a stream that comes back with its last event id gets what it missed, then follows", async () => {
    const first = await follow("live-erin");
    await first.until(1);
    await first.client.task.create.mutate({ title: "One" });
    await first.until(2);
    first.stop();
    await first.client.task.create.mutate({ title: "Two" });
    await first.client.task.create.mutate({ title: "Three" });

    const again = await follow("live-erin", "1");
    await again.until(2);
    expect(again.received.map(({ id }) => id)).toEqual(["2", "3"]);
    await again.client.task.create.mutate({ title: "Four" });
    await again.until(3);
    expect(again.received.map(({ id }) => id)).toEqual(["2", "3", "4"]);
    again.stop();
  });

  it("from past the retention window (or an unknown id), a stream says refetch, never a partial history", async () => {
    const first = await follow("live-frank");
    await first.until(1);
    for (const title of ["a", "b", "c", "d"]) await first.client.task.create.mutate({ title });
    await first.until(5);
    first.stop();
    // Pruned, as `prune_task_changes` does with the older ones.
    await api.db.taskChange.deleteMany({ where: { userId: "live-frank", seq: { lte: 2 } } });

    const late = await follow("live-frank", "1");
    await late.until(1);
    expect(late.received[0]).toEqual({ id: "4", change: { kind: "refetch" } });
    late.stop();

    const unknown = await follow("live-frank", "999");
    await unknown.until(1);
    expect(unknown.received[0]).toEqual({ id: "4", change: { kind: "refetch" } });
    unknown.stop();
  });

  it("the account's deletion is the last event, and the stream ends", async () => {
    const grace = await follow("live-grace");
    await grace.until(1);
    await grace.client.task.create.mutate({ title: "Soon gone" });
    // Received before the deletion: read after it, the task would be gone, and sent as deleted.
    await grace.until(2);
    await grace.client.user.delete.mutate();
    await grace.until(3);
    expect(grace.kinds()).toEqual(["refetch", "created", "account_deleted"]);
    await expect.poll(() => grace.completed).toBe(true);
  });

  it("refuses more open streams per user than LIVE_STREAMS_PER_USER", async () => {
    const open = await Promise.all([1, 2, 3].map(() => follow("live-heidi")));
    await Promise.all(open.map((stream) => stream.until(1)));
    const extra = await follow("live-heidi");
    await expect.poll(() => extra.errors.length).toBe(1);
    expect(String(extra.errors[0])).toContain("At most 3 live streams per user");
    for (const stream of open) stream.stop();
    // A slot that closes is free again.
    await expect.poll(() => api.live?.live.stats().streams).toBe(0);
    const after = await follow("live-heidi");
    await after.until(1);
    after.stop();
  });

  it.runIf(testServerUrl())(
    "when the listening connection drops, it comes back and the streams catch up by themselves",
    async () => {
      const kim = await follow("live-kim");
      await kim.until(1);
      const listening = () =>
        api.db.$queryRaw<{ pid: number }[]>`
          SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'tasks-listener'`;
      const [listener] = await listening();
      expect(listener).toBeDefined();
      await api.db.$queryRaw`SELECT pg_terminate_backend(${listener?.pid}::int)`;
      // Written while nobody listens: its notification is lost, the change is not.
      const task = await kim.client.task.create.mutate({ title: "While deaf" });
      await kim.until(2, 10_000);
      expect(kim.received[1]).toMatchObject({ id: "1" });
      expect(kim.received[1]?.change).toMatchObject({ task: { id: task.id } });
      expect((await listening())[0]?.pid).not.toBe(listener?.pid);
      kim.stop();
    },
  );

  it("carries the token in a header only: no URL and no log line holds it", async () => {
    const secret = await token("live-liam");
    const urls: string[] = [];
    const source = new EventSource(
      `${api.url}/trpc/task.changes?input=${encodeURIComponent("{}")}`,
      {
        fetch: (input, init) => {
          urls.push(String(input));
          return fetch(input, {
            ...init,
            headers: { ...init?.headers, authorization: `Bearer ${secret}` },
          });
        },
      },
    );
    const messages: string[] = [];
    source.addEventListener("message", (event) => messages.push(event.data));
    await expect.poll(() => messages.length).toBeGreaterThanOrEqual(1);
    source.close();
    // And through the typed client, which reconnects with its last event id in the URL only.
    const liam = await follow("live-liam");
    await liam.until(1);
    await liam.client.task.create.mutate({ title: "Logged, but not its token" });
    await liam.until(2);
    liam.stop();
    await expect
      .poll(() => logLines.some((line) => line.includes("/trpc/task.changes")))
      .toBe(true);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).not.toContain(secret);
    for (const line of logLines) expect(line).not.toContain(secret.split(".")[2]);
  });

  it("ends a stream when its token expires (UNAUTHORIZED): no stream outlives its token", async () => {
    const client = api.client(
      await signToken(
        { sub: "live-mallory", email: "live-mallory@example.com" },
        { jwks, expiresIn: "2s" },
      ),
    );
    const errors: unknown[] = [];
    const received: unknown[] = [];
    const started = performance.now();
    client.task.changes.subscribe(
      {},
      { onData: (data) => received.push(data), onError: (error) => errors.push(error) },
    );
    await expect.poll(() => errors.length, { timeout: 5_000 }).toBe(1);
    expect(received).toHaveLength(1);
    expect(String(errors[0])).toContain("The token expired");
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it("refuses a stream without a valid token", async () => {
    const client = api.client("not-a-token");
    const errors: unknown[] = [];
    client.task.changes.subscribe({}, { onError: (error) => errors.push(error) });
    await expect.poll(() => errors.length).toBe(1);
    expect(String(errors[0])).toMatch(/Invalid or expired token/);
  });
});

/** Reads a plain server-sent event stream with fetch, as a non-TypeScript client would. */
async function plainStream(sub: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const response = await fetch(`${api.url}/api/tasks/events`, {
    headers: { authorization: `Bearer ${await token(sub)}`, ...headers },
    signal: abort.signal,
  });
  const events: { id?: string; event?: string; data?: unknown }[] = [];
  const reading = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event: { id?: string; event?: string; data?: unknown } = {};
          for (const line of block.split("\n")) {
            const [field, ...rest] = line.split(": ");
            const value = rest.join(": ");
            if (field === "id") event.id = value;
            if (field === "event") event.event = value;
            if (field === "data") event.data = JSON.parse(value);
          }
          if (event.event) events.push(event);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    events,
    async stop() {
      abort.abort();
      await reading;
    },
  };
}

describe("GET /api/tasks/events", () => {
  it("streams the same changes as plain server-sent events, resuming from Last-Event-ID", async () => {
    const stream = await plainStream("rest-ivan");
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get("content-type")).toBe("text/event-stream");
    const client = api.client(await token("rest-ivan"));
    const task = await client.task.create.mutate({ title: "Over REST" });
    await expect.poll(() => stream.events.length).toBe(2);
    expect(stream.events[0]).toEqual({ id: "0", event: "refetch", data: { kind: "refetch" } });
    expect(stream.events[1]).toMatchObject({
      id: "1",
      event: "created",
      data: { kind: "created", task: { id: task.id, title: "Over REST" } },
    });
    await stream.stop();

    await client.task.update.mutate({ id: task.id, completed: true });
    const resumed = await plainStream("rest-ivan", { "last-event-id": "1" });
    await expect.poll(() => resumed.events.length).toBe(1);
    expect(resumed.events[0]).toMatchObject({ id: "2", event: "updated" });
    await resumed.stop();
  });

  it("a client that stops reading holds its position, not the changes; it gets them all when it reads again", async () => {
    const sub = "rest-kate";
    await api.client(await token(sub)).user.me.query();
    const { hostname, port } = new URL(api.url);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      `GET /api/tasks/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${await token(sub)}\r\n\r\n`,
    );
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await expect.poll(() => Buffer.concat(chunks).toString().includes("event: refetch")).toBe(true);
    socket.pause();
    // 6 MB of changes, more than the socket buffers take: the stream must wait for the client.
    const COUNT = 3_000;
    const description = "x".repeat(2_000);
    for (let batch = 0; batch < COUNT / 500; batch++) {
      await api.db.task.createMany({
        data: Array.from({ length: 500 }, (_, i) => ({
          userId: sub,
          title: `t${batch}.${i}`,
          description,
        })),
      });
    }
    await expect
      .poll(() => api.live?.live.stats().behind ?? 0, { timeout: 5_000 })
      .toBeGreaterThan(1_000);
    // It stays behind while the client does not read: nothing piles up in the server meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(api.live?.live.stats().behind).toBeGreaterThan(1_000);

    socket.resume();
    const ids = () =>
      [
        ...Buffer.concat(chunks)
          .toString()
          .matchAll(/^id: (\d+)$/gm),
      ].map((m) => Number(m[1]));
    await expect.poll(() => ids().length, { timeout: 20_000 }).toBe(COUNT + 1);
    expect(ids()).toEqual(Array.from({ length: COUNT + 1 }, (_, i) => i));
    socket.destroy();
  });

  it("is what a standard EventSource client reads: named events, ids, and resuming from its last id", async () => {
    const secret = await token("rest-leo");
    const open = (lastEventId?: string) => {
      const got: { type: string; id: string; data: unknown }[] = [];
      const source = new EventSource(`${api.url}/api/tasks/events`, {
        fetch: (input, init) =>
          fetch(input, {
            ...init,
            headers: {
              ...init?.headers,
              authorization: `Bearer ${secret}`,
              ...(lastEventId ? { "last-event-id": lastEventId } : {}),
            },
          }),
      });
      for (const type of ["refetch", "created", "updated", "deleted"]) {
        source.addEventListener(type, (event) =>
          got.push({ type, id: event.lastEventId, data: JSON.parse(event.data) }),
        );
      }
      return { got, close: () => source.close() };
    };
    const first = open();
    await expect.poll(() => first.got.length).toBe(1);
    const client = api.client(secret);
    const task = await client.task.create.mutate({ title: "Seen by EventSource" });
    await expect.poll(() => first.got.length).toBe(2);
    expect(first.got[1]).toMatchObject({
      type: "created",
      id: "1",
      data: { task: { id: task.id } },
    });
    first.close();
    await client.task.delete.mutate({ id: task.id });
    const again = open("1");
    await expect.poll(() => again.got.length).toBe(1);
    expect(again.got[0]).toEqual({
      type: "deleted",
      id: "2",
      data: { kind: "deleted", id: task.id },
    });
    again.close();
  });

  it("answers 401 without a token, as the other REST routes do", async () => {
    const response = await fetch(`${api.url}/api/tasks/events`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("answers 429 past LIVE_STREAMS_PER_USER", async () => {
    const open = await Promise.all([1, 2, 3].map(() => plainStream("rest-judy")));
    await expect.poll(() => api.live?.live.stats().streams).toBeGreaterThanOrEqual(3);
    const response = await fetch(`${api.url}/api/tasks/events`, {
      headers: { authorization: `Bearer ${await token("rest-judy")}` },
    });
    expect(response.status).toBe(429);
    await Promise.all(open.map((stream) => stream.stop()));
  });
});
