import { beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../src/index.ts";
import { neonConnectionCount, testDriver, useTestDb } from "../src/testing.ts";

const testDb = useTestDb();
let db: PrismaClient;
beforeAll(() => {
  db = testDb.owner;
});

it("runs through the driver under test", async () => {
  expect(testDb.driver).toBe(testDriver());
  await db.user.count();
  expect(neonConnectionCount() > 0).toBe(testDriver() === "neon");
});

describe("constraints in the database itself", () => {
  it("deleting a user deletes the user's tasks", async () => {
    await db.user.create({
      data: {
        id: "carol",
        email: "carol@example.com",
        tasks: { create: [{ title: "a" }, { title: "b" }] },
      },
    });
    await db.user.create({
      data: { id: "dave", email: "dave@example.com", tasks: { create: { title: "c" } } },
    });
    await db.$executeRaw`DELETE FROM users WHERE id = 'carol'`;
    expect(await db.task.count({ where: { userId: "carol" } })).toBe(0);
    expect(await db.task.count({ where: { userId: "dave" } })).toBe(1);
  });

  it("a task for a missing user is a foreign-key error", async () => {
    await expect(
      db.task.create({ data: { title: "orphan", userId: "nobody" } }),
    ).rejects.toMatchObject({
      code: "P2003",
    });
    await expect(
      db.$executeRaw`INSERT INTO tasks (id, title, user_id, updated_at) VALUES (gen_random_uuid(), 'x', 'nobody', now())`,
    ).rejects.toThrow(/foreign key/i);
  });

  it("lengths are limited by the columns, not only by input validation", async () => {
    await db.user.create({ data: { id: "erin", email: "erin@example.com" } });
    await expect(
      db.task.create({ data: { title: "x".repeat(201), userId: "erin" } }),
    ).rejects.toMatchObject({ code: "P2000" });
    await expect(
      db.task.create({ data: { title: "ok", description: "x".repeat(2001), userId: "erin" } }),
    ).rejects.toMatchObject({ code: "P2000" });
  });

  it("task ids are time-ordered UUIDv7", async () => {
    const first = await db.task.create({ data: { title: "1", userId: "erin" } });
    const second = await db.task.create({ data: { title: "2", userId: "erin" } });
    expect(first.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(first.id < second.id).toBe(true);
  });
});

describe("indexes", () => {
  it("has the composite (user_id, completed) index and the listing index", async () => {
    const rows = await db.$queryRaw<{ indexdef: string }[]>`
      SELECT indexdef FROM pg_indexes WHERE tablename = 'tasks' ORDER BY indexname`;
    const definitions = rows.map((row) => row.indexdef);
    expect(definitions).toContainEqual(expect.stringMatching(/\(user_id, completed\)$/));
    expect(definitions).toContainEqual(
      expect.stringMatching(/\(user_id, created_at DESC, id DESC\)$/),
    );
  });

  it("serves per-user listings from an index at 100k rows over 100 users", {
    timeout: 180_000,
  }, async () => {
    // Generated in SQL: 100k rows through the client would take far longer than the check. The
    // seed is one transaction free of the database's statement timeout: on a loaded machine,
    // 100k rows and their change log may take longer than a request is allowed.
    await db.$transaction(
      [
        db.$executeRaw`SET LOCAL statement_timeout = 0`,
        db.$executeRaw`
        INSERT INTO users (id, email, updated_at)
        SELECT 'load-' || u, 'load-' || u || '@example.com', now() FROM generate_series(1, 100) AS u`,
        db.$executeRaw`
        INSERT INTO tasks (id, title, completed, user_id, created_at, updated_at)
        SELECT gen_random_uuid(), 'task ' || n, n % 3 = 0, 'load-' || (n % 100 + 1),
               now() - n * interval '1 second', now()
        FROM generate_series(1, 100000) AS n`,
      ],
      { timeout: 120_000 },
    );
    await db.$executeRawUnsafe("ANALYZE tasks");

    const plan = async (sql: string) => {
      const rows = await db.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN ${sql}`);
      return rows.map((row) => row["QUERY PLAN"]).join("\n");
    };
    const listing = await plan(
      `SELECT * FROM tasks WHERE user_id = 'load-7' ORDER BY created_at DESC, id DESC LIMIT 21`,
    );
    expect(listing).toMatch(/Index Scan using tasks_user_id_created_at_id_idx/);
    expect(listing).not.toMatch(/Seq Scan/);

    // Each order of `task.list` has its index, which gives the order without a sort.
    for (const [order, index] of [
      ["due_at ASC NULLS LAST, created_at DESC, id DESC", "tasks_user_id_due_at_created_at_id_idx"],
      ["priority DESC, created_at DESC, id DESC", "tasks_user_id_priority_created_at_id_idx"],
    ]) {
      const sorted = await plan(
        `SELECT * FROM tasks WHERE user_id = 'load-7' ORDER BY ${order} LIMIT 21`,
      );
      expect(sorted).toMatch(new RegExp(`Index Scan using ${index}`));
      expect(sorted).not.toMatch(/Seq Scan|Sort/);
    }

    const open = await plan(
      `SELECT count(*) FROM tasks WHERE user_id = 'load-7' AND completed = false`,
    );
    expect(open).toMatch(/Scan (using|on) tasks_user_id_completed_idx/);
    expect(open).not.toMatch(/Seq Scan/);
  });
});
