/**
 * What the database itself enforces for a user-scoped client's operations: the task quota,
 * exactly, under concurrency; a statement timeout from the request's deadline, which PostgreSQL
 * enforces by cancelling the statement; and settings that end with their transaction.
 */
import pg from "pg";
import { beforeEach, describe, expect, it } from "vitest";
import {
  DeadlineExceededError,
  forUser,
  isTimedOut,
  type PrismaClient,
  taskQuotaReached,
  withDeadline,
} from "../src/index.ts";
import { testServerUrl, useTestDb } from "../src/testing.ts";

const testDb = useTestDb();
let db: PrismaClient;

beforeEach(async () => {
  db = testDb.client;
  await db.user.deleteMany();
  await db.user.createMany({
    data: [
      { id: "alice", email: "alice@example.com" },
      { id: "bob", email: "bob@example.com" },
    ],
  });
});

/** The counter the quota is checked against, and the rows it counts. */
async function counted(userId: string) {
  const [user, rows] = await Promise.all([
    db.user.findUniqueOrThrow({ where: { id: userId } }),
    db.task.count({ where: { userId } }),
  ]);
  return { taskCount: user.taskCount, rows };
}

describe("the task quota", () => {
  it("50 parallel creates with 5 left store exactly 5; the rest are refused naming the quota", async () => {
    const alice = forUser(db, "alice", { taskQuota: 10 });
    await alice.task.createMany({
      data: Array.from({ length: 5 }, (_, i) => ({ userId: "alice", title: `t${i}` })),
    });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        alice.task.create({ data: { userId: "alice", title: `p${i}` } }),
      ),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(5);
    for (const result of results.filter((result) => result.status === "rejected")) {
      expect(taskQuotaReached(result.reason)).toBe(10);
    }
    expect(await counted("alice")).toEqual({ taskCount: 10, rows: 10 });
  });

  it("a createMany that would pass the quota stores none of its rows", async () => {
    const alice = forUser(db, "alice", { taskQuota: 3 });
    await alice.task.create({ data: { userId: "alice", title: "one" } });
    const over = alice.task.createMany({
      data: [
        { userId: "alice", title: "a" },
        { userId: "alice", title: "b" },
        { userId: "alice", title: "c" },
      ],
    });
    await expect(over).rejects.toSatisfy((error) => taskQuotaReached(error) === 3);
    expect(await counted("alice")).toEqual({ taskCount: 1, rows: 1 });
  });

  it("is per user, and deleting tasks makes room again", async () => {
    const alice = forUser(db, "alice", { taskQuota: 2 });
    const bob = forUser(db, "bob", { taskQuota: 2 });
    const first = await alice.task.create({ data: { userId: "alice", title: "a1" } });
    await alice.task.create({ data: { userId: "alice", title: "a2" } });
    await bob.task.create({ data: { userId: "bob", title: "b1" } });
    await expect(alice.task.create({ data: { userId: "alice", title: "a3" } })).rejects.toSatisfy(
      (error) => taskQuotaReached(error) === 2,
    );
    await alice.task.delete({ where: { id: first.id } });
    await alice.task.create({ data: { userId: "alice", title: "a3" } });
    await bob.task.createMany({ data: [{ userId: "bob", title: "b2" }] });
    expect(await counted("alice")).toEqual({ taskCount: 2, rows: 2 });
    expect(await counted("bob")).toEqual({ taskCount: 2, rows: 2 });
  });

  it("the counter follows every write, and no client may set it", async () => {
    const alice = forUser(db, "alice");
    await alice.task.createMany({
      data: [
        { userId: "alice", title: "a" },
        { userId: "alice", title: "b" },
        { userId: "alice", title: "c" },
      ],
    });
    await alice.task.deleteMany({ where: { title: { in: ["a", "b"] } } });
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

describe("the request deadline", () => {
  it("an operation that would start after the deadline is refused without a query", async () => {
    const alice = forUser(db, "alice");
    const late = withDeadline(1, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return alice.task.findMany();
    });
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(late).rejects.toSatisfy(isTimedOut);
  });

  it("each operation sends what is left of the deadline as its statement_timeout", async () => {
    const seen: string[] = [];
    const spy = db.$extends({
      query: {
        async $queryRaw({ args, query }) {
          seen.push(JSON.stringify((args as { values: unknown[] }).values ?? args));
          return query(args);
        },
      },
    }) as unknown as PrismaClient;
    // Awaited inside: a Prisma query runs when it is awaited, in the context of whoever awaits it.
    await withDeadline(
      3_000,
      async () => await forUser(spy, "alice", { taskQuota: 7 }).task.count(),
    );
    expect(seen).toHaveLength(1);
    const values = JSON.parse(seen[0] as string) as string[];
    expect(values[0]).toBe("alice");
    expect(Number(values[1])).toBeGreaterThan(2_500);
    expect(Number(values[1])).toBeLessThanOrEqual(3_000);
    expect(values[2]).toBe("7");
  });

  it.runIf(testServerUrl())(
    "PostgreSQL cancels a statement at the deadline: the caller gets a timeout and the backend is idle",
    async () => {
      const holder = new pg.Client(testDb.url);
      await holder.connect();
      try {
        // A statement that waits on a lock stands for any slow one.
        await holder.query("BEGIN");
        await holder.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
        const alice = forUser(db, "alice");
        const started = performance.now();
        const slow = withDeadline(400, async () => await alice.task.findMany());
        await expect(slow).rejects.toSatisfy(isTimedOut);
        const elapsed = performance.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(390);
        expect(elapsed).toBeLessThan(2_000);
        const { rows } = await holder.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND state = 'active' AND query LIKE '%tasks%'`,
        );
        expect(rows[0].n).toBe(0);
      } finally {
        await holder.query("ROLLBACK");
        await holder.end();
      }
    },
  );
});

describe("the settings end with their transaction", () => {
  it("interleaved operations of two users never leave a setting on a pooled connection", async () => {
    const users = [forUser(db, "alice", { taskQuota: 5 }), forUser(db, "bob", { taskQuota: 9 })];
    const leftovers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await users[i % 2]?.task.count();
        const [row] = await db.$queryRaw<{ user: string | null; quota: string | null }[]>`
          SELECT current_setting('app.user_id', true) AS user,
                 current_setting('app.task_quota', true) AS quota`;
        return [row?.user ?? "", row?.quota ?? ""];
      }),
    );
    expect(leftovers.flat().filter((value) => value !== "")).toEqual([]);
  });
});
