/**
 * What the database itself enforces under the user-scoped client: the task quota (the database's
 * `app.task_quota`), exactly, under concurrency; PostgreSQL's own `statement_timeout`, which
 * cancels a slow statement in the server; and a request deadline past which no statement starts.
 */
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../src/client.ts";
import {
  DeadlineExceededError,
  forUser,
  isTimedOut,
  type PrismaClient,
  taskQuotaReached,
  withDeadline,
} from "../src/index.ts";
import {
  connectTestDb,
  createTestDatabase,
  setDatabaseDefaults,
  testServerUrl,
  useTestDb,
} from "../src/testing.ts";

const QUOTA = 10;
const TIMEOUT_MS = 400;
const testDb = useTestDb();
/** A connection opened after the database's limits were set for the test. */
let limited: Database;
/** The owner's connection, opened then too, for the test's own setup and checks. */
let limitedOwner: Database;
let app: PrismaClient;
let db: PrismaClient;

beforeAll(async () => {
  await setDatabaseDefaults(testDb.url, {
    "app.task_quota": String(QUOTA),
    statement_timeout: `${TIMEOUT_MS}ms`,
  });
  limited = await connectTestDb(testDb.url);
  limitedOwner = await connectTestDb(testDb.url, { as: "owner" });
  app = limited.client;
  db = limitedOwner.client;
});
afterAll(async () => {
  await limited?.close();
  await limitedOwner?.close();
});

beforeEach(async () => {
  await db.user.deleteMany();
  await db.user.createMany({
    data: [
      { id: "alice", email: "alice@example.com" },
      { id: "bob", email: "bob@example.com" },
    ],
  });
});

/** The limits a new session of a freshly migrated database gets. */
async function useTestDbDefaults() {
  const other = await createTestDatabase();
  const client = new pg.Client(other.url);
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT current_setting('app.task_quota', true) AS quota, current_setting('statement_timeout') AS timeout",
    );
    return rows[0];
  } finally {
    await client.end();
    await other.drop();
  }
}

/** The counter the quota is checked against, and the rows it counts. */
async function counted(userId: string) {
  const [user, rows] = await Promise.all([
    db.user.findUniqueOrThrow({ where: { id: userId } }),
    db.task.count({ where: { userId } }),
  ]);
  return { taskCount: user.taskCount, rows };
}

const titled = (userId: string, count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => ({ userId, title: `${prefix} ${i}` }));

describe("the task quota", () => {
  it("the migrations set the database's defaults: 10,000 tasks, statements of 10 s", async () => {
    const fresh = await useTestDbDefaults();
    expect(fresh.quota).toBe("10000");
    // PGlite (single-threaded WebAssembly) has no timer to cancel a statement with.
    expect(fresh.timeout).toBe(testServerUrl() ? "10s" : "0");
  });

  it("50 parallel creates with 5 left store exactly 5; the rest are refused naming the quota", async () => {
    const alice = forUser(app, "alice");
    await alice.task.createMany({ data: titled("alice", QUOTA - 5, "kept") });
    const results = await Promise.allSettled(
      titled("alice", 50, "race").map((data) => alice.task.create({ data })),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(5);
    for (const result of results.filter((result) => result.status === "rejected")) {
      expect(taskQuotaReached(result.reason)).toBe(QUOTA);
    }
    expect(await counted("alice")).toEqual({ taskCount: QUOTA, rows: QUOTA });
  });

  it("a createMany that would pass the quota stores none of its rows", async () => {
    const alice = forUser(app, "alice");
    await alice.task.createMany({ data: titled("alice", QUOTA - 2, "kept") });
    const over = alice.task.createMany({ data: titled("alice", 3, "over") });
    await expect(over).rejects.toSatisfy((error) => taskQuotaReached(error) === QUOTA);
    expect(await counted("alice")).toEqual({ taskCount: QUOTA - 2, rows: QUOTA - 2 });
  });

  it("is per user, and deleting tasks makes room again", async () => {
    const alice = forUser(app, "alice");
    const bob = forUser(app, "bob");
    await alice.task.createMany({ data: titled("alice", QUOTA, "full") });
    await bob.task.create({ data: { userId: "bob", title: "b1" } });
    await expect(
      alice.task.create({ data: { userId: "alice", title: "one more" } }),
    ).rejects.toSatisfy((error) => taskQuotaReached(error) === QUOTA);
    const [first] = await alice.task.findMany({ take: 1 });
    await alice.task.delete({ where: { id: first?.id } });
    await alice.task.create({ data: { userId: "alice", title: "in the freed place" } });
    expect(await counted("alice")).toEqual({ taskCount: QUOTA, rows: QUOTA });
    expect(await counted("bob")).toEqual({ taskCount: 1, rows: 1 });
  });

  it("the counter follows every write, and no client may set it", async () => {
    const alice = forUser(app, "alice");
    await alice.task.createMany({ data: titled("alice", 3, "t") });
    await alice.task.deleteMany({ where: { title: { in: ["t 0", "t 1"] } } });
    await db.task.create({ data: { title: "owner's script", userId: "alice" } });
    expect(await counted("alice")).toEqual({ taskCount: 2, rows: 2 });
    await expect(
      alice.user.update({ where: { id: "alice" }, data: { taskCount: 0 } }),
    ).rejects.toThrow("A user's task count is not writable.");
    // A deleted user's tasks go with it, and the counter with its row.
    await alice.user.deleteMany();
    expect(await db.task.count({ where: { userId: "alice" } })).toBe(0);
  });
});

describe("time", () => {
  it("past the request's deadline no statement starts", async () => {
    const alice = forUser(app, "alice");
    const late = withDeadline(1, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return await alice.task.findMany();
    });
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(late).rejects.toSatisfy(isTimedOut);
  });

  it.runIf(testServerUrl())(
    "PostgreSQL cancels a slow statement at its statement_timeout, and the backend is idle again",
    async () => {
      const holder = new pg.Client(testDb.url);
      await holder.connect();
      try {
        // A statement that waits on a lock stands for any slow one.
        await holder.query("BEGIN");
        await holder.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
        const started = performance.now();
        await expect(forUser(app, "alice").task.findMany()).rejects.toSatisfy(isTimedOut);
        const elapsed = performance.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
        expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
        // The error reaches the client a moment before its backend reports itself idle.
        const running = async () => {
          const { rows } = await holder.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND state = 'active' AND query LIKE '%tasks%'`,
          );
          return rows[0].n;
        };
        await expect.poll(running, { timeout: 5_000, interval: 20 }).toBe(0);
      } finally {
        await holder.query("ROLLBACK");
        await holder.end();
      }
    },
  );
});
