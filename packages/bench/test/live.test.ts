// The live updates' measures, small: two API processes' worth of servers (in this process, through
// createApiServer, each with a database connection and a LISTEN of its own) on one test database;
// every create reaches each of its writer's streams, and the triggers without emission keep the
// task counter and the quota but log and notify nothing.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTokenVerifier, startLiveChanges } from "@tasks/api";
import { CHANGES_CHANNEL } from "@tasks/db";
import { connectTestDb, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { createLogger } from "@tasks/server/src/logger.ts";
import { createApiServer } from "@tasks/server/src/server.ts";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { measureDelivery, percentiles, quietTriggers } from "../src/live.ts";
import { AUTH, sampleUsers } from "../src/scenarios.ts";
import { seed } from "../src/seed.ts";

const SIZE = { users: 4, tasks: 40 };
let testDb: TestDatabase;
const stops: (() => Promise<void>)[] = [];
const bases: string[] = [];

async function serve(): Promise<string> {
  const database = await connectTestDb(testDb.url);
  const live = startLiveChanges(database, {
    perUser: 10,
    total: 100,
    retentionMs: 900_000,
    readTimeoutMs: 10_000,
  });
  const server: Server = createApiServer({
    config: {
      corsOrigins: [],
      bodyLimitBytes: 100 * 1024,
      batchMaxCalls: 20,
      knownUserTtlMs: 60_000,
      requestTimeoutMs: 10_000,
    },
    database,
    verifyToken: createTokenVerifier({ mode: "secret", ...AUTH }),
    live: live.live,
    logger: createLogger("silent"),
  });
  await live.ready;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  stops.push(async () => {
    live.live.close();
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    await live.close();
    await database.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  await seed(testDb.url, SIZE);
  bases.push(await serve(), await serve());
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await testDb?.drop();
});

it("takes nearest-rank percentiles", () => {
  const values = Array.from({ length: 200 }, (_, i) => 200 - i);
  expect(percentiles(values)).toEqual({ p50: 100, p99: 198, max: 200 });
  expect(percentiles([7])).toEqual({ p50: 7, p99: 7, max: 7 });
});

it("times every create's event on each of its writer's streams, over both servers", async () => {
  const users = await sampleUsers(testDb.url, SIZE.users, SIZE.users);
  const [round, ...more] = await measureDelivery({
    bases,
    users,
    listenUrl: testDb.url,
    streamsPerUser: 4,
    rate: 40,
    seconds: 0.5,
    rounds: 1,
  });
  expect(more).toEqual([]);
  expect(round).toMatchObject({ writes: 20, written: 20, expected: 80, delivered: 80 });
  expect(round?.outOfOrder).toBe(0);
  const { fromSent, fromCommit, fromResponse, write } = round as NonNullable<typeof round>;
  for (const figure of [fromSent, fromCommit, fromResponse, write]) {
    expect(Number.isFinite(figure.p99)).toBe(true);
  }
  // A request is sent before its commit and its answer.
  expect(fromSent.p50).toBeGreaterThan(0);
  expect(fromSent.p50).toBeGreaterThanOrEqual(fromCommit.p50);
  expect(fromSent.p99).toBeGreaterThanOrEqual(fromResponse.p99);
});

it("without emission, a write keeps the task counter and the quota, and logs and notifies nothing", async () => {
  await quietTriggers(testDb.url);
  const owner = new pg.Client({ connectionString: testDb.url });
  await owner.connect();
  const heard: string[] = [];
  owner.on("notification", ({ payload }) => heard.push(payload ?? ""));
  await owner.query(`LISTEN ${CHANGES_CHANNEL}`);
  try {
    const [user] = await sampleUsers(testDb.url, SIZE.users, 1);
    const sub = user?.sub as string;
    const state = async () =>
      (
        await owner.query<{ task_count: number; last_change: number; logged: number }>(
          `SELECT task_count, last_change,
             (SELECT count(*)::int FROM task_changes WHERE user_id = $1) AS logged
           FROM users WHERE id = $1`,
          [sub],
        )
      ).rows[0];
    const before = await state();
    const call = (procedure: string, value: unknown) =>
      fetch(`${bases[0]}/trpc/${procedure}`, {
        method: "POST",
        headers: { authorization: `Bearer ${user?.token}`, "content-type": "application/json" },
        body: JSON.stringify({ json: value }),
      });
    const created = await call("task.create", { title: "Quiet" });
    expect(created.status).toBe(200);
    const { id } = ((await created.json()) as { result: { data: { json: { id: string } } } }).result
      .data.json;
    expect((await call("task.update", { id, completed: true })).status).toBe(200);
    await new Promise((done) => setTimeout(done, 200));
    expect(heard).toEqual([]);
    expect(await state()).toEqual({
      task_count: (before?.task_count ?? 0) + 1,
      last_change: before?.last_change,
      logged: before?.logged,
    });
    // The quota still holds: at the count, one more is refused.
    await owner.query(`SET app.task_quota = '${(before?.task_count ?? 0) + 1}'`);
    await expect(
      owner.query(
        `INSERT INTO tasks (id, title, user_id, updated_at) VALUES (gen_random_uuid(), 'Over', $1, now())`,
        [sub],
      ),
    ).rejects.toMatchObject({ code: "TQ001" });
  } finally {
    await owner.end();
  }
});
