import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  forUser,
  Prisma,
  type PrismaClient,
  type ScopedDb,
  ScopeViolationError,
  type Task,
} from "../src/index.ts";
import { SCOPED_ARGUMENTS, SCOPED_OPERATIONS, SCOPED_RELATIONS } from "../src/scoped.ts";
import { useTestDb } from "../src/testing.ts";

const testDb = useTestDb();
let db: PrismaClient;
/** The user under test, and the other user whose rows must stay out of reach. */
let alice: ScopedDb;
let bobTask: Task;
let aliceTask: Task;

beforeAll(() => {
  // Rows are set up and checked as the owner; the scoped client runs as the app, under the
  // database's row-level security.
  db = testDb.owner;
  alice = forUser(testDb.client, "alice");
});

beforeEach(async () => {
  await db.user.deleteMany();
  await db.user.createMany({
    data: [
      { id: "alice", email: "alice@example.com" },
      { id: "bob", email: "bob@example.com" },
    ],
  });
  aliceTask = await db.task.create({ data: { title: "alice's", userId: "alice" } });
  bobTask = await db.task.create({ data: { title: "bob's", userId: "bob", priority: "HIGH" } });
});

/** Bob's rows exactly as they are in the database, to compare before and after. */
async function bobsRows() {
  const [user, tasks] = await Promise.all([
    db.user.findUnique({ where: { id: "bob" } }),
    db.task.findMany({ where: { userId: "bob" }, orderBy: { id: "asc" } }),
  ]);
  return { user, tasks };
}

const refused = expect.any(ScopeViolationError);

/** Task data without an owner: the scoped client fills it in, though the generated types ask for it. */
function ownerless<T = Prisma.TaskUncheckedCreateInput>(data: object): T {
  return data as T;
}

describe("Task reads see only the user's tasks", () => {
  it("findMany, findFirst and findFirstOrThrow", async () => {
    expect(await alice.task.findMany()).toEqual([aliceTask]);
    expect(await alice.task.findMany({ where: { userId: "bob" } })).toEqual([]);
    expect(await alice.task.findFirst({ where: { id: bobTask.id } })).toBeNull();
    await expect(alice.task.findFirstOrThrow({ where: { id: bobTask.id } })).rejects.toMatchObject({
      code: "P2025",
    });
  });

  it("findUnique and findUniqueOrThrow", async () => {
    expect(await alice.task.findUnique({ where: { id: aliceTask.id } })).toEqual(aliceTask);
    expect(await alice.task.findUnique({ where: { id: bobTask.id } })).toBeNull();
    await expect(alice.task.findUniqueOrThrow({ where: { id: bobTask.id } })).rejects.toMatchObject(
      {
        code: "P2025",
      },
    );
  });

  it("count, aggregate and groupBy", async () => {
    expect(await alice.task.count()).toBe(1);
    const aggregate = await alice.task.aggregate({ _count: { _all: true } });
    expect(aggregate._count._all).toBe(1);
    const groups = await alice.task.groupBy({ by: ["priority"], _count: { _all: true } });
    expect(groups).toEqual([{ priority: "MEDIUM", _count: { _all: 1 } }]);
  });

  it("relation filters and includes stay inside the user's rows", async () => {
    const viaBob = await alice.task.findMany({ where: { user: { id: "bob" } } });
    expect(viaBob).toEqual([]);
    const withOwner = await alice.task.findMany({
      include: { user: { include: { tasks: true } } },
    });
    expect(withOwner.map((task) => task.user.tasks.map((t) => t.id))).toEqual([[aliceTask.id]]);
    // A relation filter is evaluated on the user's rows, whose relations lead only to the
    // user's rows: `every` and `none` hold over the user's own tasks, as if Bob had none.
    const users = (where: Prisma.UserWhereInput) =>
      alice.user.findMany({ where, select: { id: true } });
    expect(await users({ tasks: { some: { id: bobTask.id } } })).toEqual([]);
    expect(await users({ tasks: { every: { userId: "alice" } } })).toEqual([{ id: "alice" }]);
    expect(await users({ tasks: { none: { userId: "bob" } } })).toEqual([{ id: "alice" }]);
    expect(
      await alice.task.findMany({
        where: { user: { is: { tasks: { some: { userId: "bob" } } } } },
      }),
    ).toEqual([]);
    expect(await alice.task.findMany({ where: { user: { isNot: { id: "alice" } } } })).toEqual([]);
    // A task's `user` is only ever the user's own row; a user's `tasks`, whatever their own
    // filter, only the user's tasks, and so are those `_count` counts.
    const owners = await alice.task.findMany({ include: { user: true } });
    expect(owners.map((task) => task.user.id)).toEqual(["alice"]);
    const me = await alice.user.findUniqueOrThrow({
      where: { id: "alice" },
      include: {
        tasks: { where: { OR: [{ userId: "bob" }, { id: bobTask.id }] } },
        _count: { select: { tasks: { where: { userId: "bob" } } } },
      },
    });
    expect(me.tasks).toEqual([]);
    expect(me._count.tasks).toBe(0);
  });
});

describe("Task writes touch only the user's tasks", () => {
  it("update and delete of another user's task are not found, and change nothing", async () => {
    const before = await bobsRows();
    await expect(
      alice.task.update({ where: { id: bobTask.id }, data: { title: "mine" } }),
    ).rejects.toMatchObject({ code: "P2025" });
    await expect(alice.task.delete({ where: { id: bobTask.id } })).rejects.toMatchObject({
      code: "P2025",
    });
    expect(await bobsRows()).toEqual(before);
  });

  it("updateMany, updateManyAndReturn and deleteMany skip other users' tasks", async () => {
    const before = await bobsRows();
    expect(await alice.task.updateMany({ data: { completed: true } })).toEqual({ count: 1 });
    const returned = await alice.task.updateManyAndReturn({ data: { title: "renamed" } });
    expect(returned.map((task) => task.id)).toEqual([aliceTask.id]);
    expect(await alice.task.deleteMany({ where: { id: bobTask.id } })).toEqual({ count: 0 });
    expect(await alice.task.deleteMany()).toEqual({ count: 1 });
    expect(await bobsRows()).toEqual(before);
  });

  it("upsert on another user's id cannot update it", async () => {
    const before = await bobsRows();
    await expect(
      alice.task.upsert({
        where: { id: bobTask.id },
        create: ownerless({ id: bobTask.id, title: "x" }),
        update: { title: "taken" },
      }),
    ).rejects.toMatchObject({ code: "P2002" });
    const upserted = await alice.task.upsert({
      where: { id: aliceTask.id },
      create: ownerless({ title: "new" }),
      update: { title: "updated" },
    });
    expect(upserted).toMatchObject({ id: aliceTask.id, title: "updated", userId: "alice" });
    expect(await bobsRows()).toEqual(before);
  });

  it("create sets the owner, and refuses another one", async () => {
    const created = await alice.task.create({ data: ownerless({ title: "new" }) });
    expect(created.userId).toBe("alice");
    expect(await alice.task.create({ data: { title: "own", userId: "alice" } })).toMatchObject({
      userId: "alice",
    });
    await expect(alice.task.create({ data: { title: "x", userId: "bob" } })).rejects.toEqual(
      refused,
    );
    await expect(
      alice.task.create({ data: { title: "x", user: { connect: { id: "bob" } } } }),
    ).rejects.toEqual(refused);
    await expect(
      alice.task.create({
        data: {
          title: "x",
          user: { connectOrCreate: { where: { id: "eve" }, create: { id: "eve", email: "e@x" } } },
        },
      }),
    ).rejects.toEqual(refused);
  });

  it("createMany and createManyAndReturn take an object or an array, always for the user", async () => {
    expect(await alice.task.createMany({ data: ownerless({ title: "one" }) })).toEqual({
      count: 1,
    });
    expect(
      await alice.task.createMany({
        data: [ownerless({ title: "two" }), ownerless({ title: "three" })],
      }),
    ).toEqual({
      count: 2,
    });
    const returned = await alice.task.createManyAndReturn({ data: [ownerless({ title: "four" })] });
    expect(returned.map((task) => task.userId)).toEqual(["alice"]);
    await expect(
      alice.task.createMany({ data: [ownerless({ title: "ok" }), { title: "x", userId: "bob" }] }),
    ).rejects.toEqual(refused);
    await expect(
      alice.task.createManyAndReturn({ data: { title: "x", userId: "bob" } }),
    ).rejects.toEqual(refused);
    expect(await db.task.count({ where: { userId: "alice" } })).toBe(5);
    expect(await db.task.count({ where: { userId: "bob" } })).toBe(1);
  });

  it("an update cannot move a task to another user", async () => {
    const id = aliceTask.id;
    await expect(alice.task.update({ where: { id }, data: { userId: "bob" } })).rejects.toEqual(
      refused,
    );
    await expect(
      alice.task.update({ where: { id }, data: { user: { connect: { id: "bob" } } } }),
    ).rejects.toEqual(refused);
    await expect(alice.task.updateMany({ data: { userId: "bob" } })).rejects.toEqual(refused);
    await expect(
      alice.task.upsert({
        where: { id },
        create: ownerless({ title: "x" }),
        update: { userId: "bob" },
      }),
    ).rejects.toEqual(refused);
    await expect(
      alice.task.upsert({ where: { id }, create: { title: "x", userId: "bob" }, update: {} }),
    ).rejects.toEqual(refused);
    expect(await db.task.findUnique({ where: { id } })).toEqual(aliceTask);
  });
});

describe("User is limited to the user's own row", () => {
  it("reads return only the user's row, and its tasks only", async () => {
    expect((await alice.user.findMany()).map((user) => user.id)).toEqual(["alice"]);
    expect(await alice.user.findUnique({ where: { id: "bob" } })).toBeNull();
    expect(await alice.user.findUnique({ where: { email: "bob@example.com" } })).toBeNull();
    expect(await alice.user.findFirst({ where: { email: "bob@example.com" } })).toBeNull();
    expect(await alice.user.count()).toBe(1);
    const me = await alice.user.findUniqueOrThrow({
      where: { id: "alice" },
      include: { tasks: true, _count: { select: { tasks: true } } },
    });
    expect(me.tasks.map((task) => task.id)).toEqual([aliceTask.id]);
    expect(me._count.tasks).toBe(1);
    const everyone = await alice.user.findMany({ select: { tasks: { select: { id: true } } } });
    expect(everyone).toEqual([{ tasks: [{ id: aliceTask.id }] }]);
  });

  it("the fluent API cannot reach another user's tasks", async () => {
    expect(await alice.user.findUnique({ where: { id: "bob" } }).tasks()).toBeNull();
    const mine = await alice.user.findUnique({ where: { id: "alice" } }).tasks();
    expect(mine?.map((task) => task.id)).toEqual([aliceTask.id]);
    expect(await alice.task.findUnique({ where: { id: bobTask.id } }).user()).toBeNull();
    // A fluent call's arguments are the relation's, its cursor scoped like any other:
    // paging back from Bob's task finds nothing, from one's own finds one's own.
    const back = (id: string) =>
      alice.user
        .findUnique({ where: { id: "alice" } })
        .tasks({ cursor: { id }, orderBy: [{ title: "asc" }, { id: "asc" }], take: -2 });
    expect(await back(bobTask.id)).toEqual([]);
    expect(await back(aliceTask.id)).toEqual([aliceTask]);
  });

  it("nested task writes through the user act on the user's tasks only", async () => {
    const before = await bobsRows();
    await alice.user.update({
      where: { id: "alice" },
      data: {
        tasks: { updateMany: { where: {}, data: { completed: true } }, create: { title: "n" } },
      },
    });
    expect(await db.task.count({ where: { userId: "alice", completed: true } })).toBe(1);
    expect(await db.task.count({ where: { userId: "alice" } })).toBe(2);
    await alice.user.update({ where: { id: "alice" }, data: { tasks: { deleteMany: {} } } });
    expect(await db.task.count({ where: { userId: "alice" } })).toBe(0);
    expect(await bobsRows()).toEqual(before);
  });

  it("nested writes that attach existing tasks are refused", async () => {
    const before = await bobsRows();
    const attach = [
      { connect: { id: bobTask.id } },
      { connectOrCreate: { where: { id: bobTask.id }, create: { title: "x" } } },
      { set: [{ id: bobTask.id }] },
    ];
    for (const tasks of attach) {
      await expect(alice.user.update({ where: { id: "alice" }, data: { tasks } })).rejects.toEqual(
        refused,
      );
    }
    expect(await bobsRows()).toEqual(before);
  });

  it("writes to another user's row are not found; the id cannot change", async () => {
    const before = await bobsRows();
    await expect(
      alice.user.update({ where: { id: "bob" }, data: { name: "x" } }),
    ).rejects.toMatchObject({ code: "P2025" });
    expect(await alice.user.updateMany({ where: { id: "bob" }, data: { name: "x" } })).toEqual({
      count: 0,
    });
    await expect(alice.user.delete({ where: { id: "bob" } })).rejects.toMatchObject({
      code: "P2025",
    });
    await expect(
      alice.user.update({ where: { id: "alice" }, data: { id: "mallory" } }),
    ).rejects.toEqual(refused);
    await expect(alice.user.create({ data: { id: "eve", email: "eve@x" } })).rejects.toEqual(
      refused,
    );
    expect(await bobsRows()).toEqual(before);
  });

  it("deleteMany deletes the user only, and cascades to the user's tasks", async () => {
    expect(await alice.user.deleteMany()).toEqual({ count: 1 });
    expect(await db.task.count({ where: { userId: "alice" } })).toBe(0);
    expect(await db.user.count()).toBe(1);
  });
});

describe("everything else is refused", () => {
  it("raw SQL in all its forms", async () => {
    const raw = alice as unknown as PrismaClient;
    await expect(raw.$queryRaw`SELECT * FROM tasks`).rejects.toEqual(refused);
    await expect(raw.$executeRaw`DELETE FROM tasks`).rejects.toEqual(refused);
    await expect(raw.$queryRawUnsafe("SELECT * FROM tasks")).rejects.toEqual(refused);
    await expect(raw.$executeRawUnsafe("DELETE FROM tasks")).rejects.toEqual(refused);
    expect(await db.task.count()).toBe(2);
  });

  it("scoping holds inside interactive and batch transactions", async () => {
    const seen = await alice.$transaction(async (tx) => {
      await tx.task.updateMany({ data: { title: "tx" } });
      return tx.task.findMany();
    });
    expect(seen.map((task) => task.userId)).toEqual(["alice"]);
    const [count, tasks] = await alice.$transaction([alice.task.count(), alice.task.findMany()]);
    expect(count).toBe(1);
    expect(tasks.map((task) => task.title)).toEqual(["tx"]);
    expect((await db.task.findUniqueOrThrow({ where: { id: bobTask.id } })).title).toBe("bob's");
  });

  it("an empty user id cannot make a scoped client", () => {
    expect(() => forUser(db, "")).toThrow(ScopeViolationError);
  });
});

/**
 * Every operation the generated client offers, read from the client itself, must
 * either be one the scope handles (and each of those is exercised against
 * another user's rows below) or be refused. A Prisma upgrade that adds an
 * operation therefore fails here until it is scoped.
 */
describe("every client operation is scoped or refused", () => {
  type Probe = (scoped: ScopedDb) => Promise<unknown>;
  const other = () => ({ id: bobTask.id });
  const taskProbes: Record<string, Probe> = {
    findUnique: (s) => s.task.findUnique({ where: other() }),
    findUniqueOrThrow: (s) => s.task.findUniqueOrThrow({ where: other() }).catch(() => null),
    findFirst: (s) => s.task.findFirst({ where: other() }),
    findFirstOrThrow: (s) => s.task.findFirstOrThrow({ where: other() }).catch(() => null),
    findMany: (s) => s.task.findMany({ where: other() }),
    count: (s) => s.task.count({ where: other() }),
    aggregate: (s) => s.task.aggregate({ where: other(), _count: true }),
    groupBy: (s) => s.task.groupBy({ by: ["userId"], where: other() }),
    create: (s) => s.task.create({ data: ownerless({ title: "probe" }) }),
    createMany: (s) => s.task.createMany({ data: ownerless({ title: "probe" }) }),
    createManyAndReturn: (s) => s.task.createManyAndReturn({ data: ownerless({ title: "probe" }) }),
    update: (s) => s.task.update({ where: other(), data: { title: "x" } }).catch(() => null),
    updateMany: (s) => s.task.updateMany({ where: other(), data: { title: "x" } }),
    updateManyAndReturn: (s) =>
      s.task.updateManyAndReturn({ where: other(), data: { title: "x" } }),
    upsert: (s) =>
      s.task
        .upsert({ where: other(), create: ownerless({ title: "probe" }), update: { title: "x" } })
        .catch(() => null),
    delete: (s) => s.task.delete({ where: other() }).catch(() => null),
    deleteMany: (s) => s.task.deleteMany({ where: other() }),
  };
  const bob = { id: "bob" };
  const userProbes: Record<string, Probe> = {
    findUnique: (s) => s.user.findUnique({ where: bob }),
    findUniqueOrThrow: (s) => s.user.findUniqueOrThrow({ where: bob }).catch(() => null),
    findFirst: (s) => s.user.findFirst({ where: bob }),
    findFirstOrThrow: (s) => s.user.findFirstOrThrow({ where: bob }).catch(() => null),
    findMany: (s) => s.user.findMany({ where: bob }),
    count: (s) => s.user.count({ where: bob }),
    aggregate: (s) => s.user.aggregate({ where: bob, _count: true }),
    groupBy: (s) => s.user.groupBy({ by: ["id"], where: bob }),
    create: (s) =>
      s.user.create({ data: { id: "alice", email: "alice2@example.com" } }).catch(() => null),
    createMany: (s) =>
      s.user.createMany({ data: { id: "alice", email: "a3@x" } }).catch(() => null),
    createManyAndReturn: (s) =>
      s.user.createManyAndReturn({ data: { id: "alice", email: "a4@x" } }).catch(() => null),
    update: (s) => s.user.update({ where: bob, data: { name: "x" } }).catch(() => null),
    updateMany: (s) => s.user.updateMany({ where: bob, data: { name: "x" } }),
    updateManyAndReturn: (s) => s.user.updateManyAndReturn({ where: bob, data: { name: "x" } }),
    upsert: (s) =>
      s.user
        .upsert({ where: bob, create: { id: "alice", email: "a5@x" }, update: { name: "x" } })
        .catch(() => null),
    delete: (s) => s.user.delete({ where: bob }).catch(() => null),
    deleteMany: (s) => s.user.deleteMany({ where: bob }),
  };
  const probes: Record<string, Record<string, Probe>> = { task: taskProbes, user: userProbes };

  function operationsOf(model: string): string[] {
    const delegate = (db as unknown as Record<string, Record<string, unknown>>)[model] ?? {};
    return Object.keys(delegate).filter((key) => typeof delegate[key] === "function");
  }

  it("covers every model: Task and User are scoped, every other one is unscoped and refused", () => {
    expect(allModels().filter((model) => !UNSCOPED_MODELS.includes(model))).toEqual(
      Object.keys(probes).sort(),
    );
  });

  it("probes every operation the scope handles", () => {
    for (const modelProbes of Object.values(probes)) {
      expect(Object.keys(modelProbes).sort()).toEqual([...SCOPED_OPERATIONS].sort());
    }
  });

  for (const model of ["task", "user"]) {
    it(`${model}: handled operations leave other users' rows alone; the rest are refused`, async () => {
      const operations = operationsOf(model);
      expect(operations.length).toBeGreaterThan(15);
      const modelProbes = probes[model] ?? {};
      for (const operation of operations) {
        const before = await bobsRows();
        const probe = modelProbes[operation];
        if (probe) {
          const result = await probe(alice);
          expect(JSON.stringify(result) ?? "", `${model}.${operation}`).not.toContain("bob");
        } else {
          const call = (
            alice as unknown as Record<string, Record<string, (a: unknown) => unknown>>
          )[model]?.[operation];
          await expect(
            Promise.resolve().then(() => call?.({})),
            `${model}.${operation} must be refused`,
          ).rejects.toEqual(refused);
        }
        expect(await bobsRows(), `${model}.${operation}`).toEqual(before);
      }
    });
  }
});

/**
 * Tables that belong to no user, or to a system outside the API: Better Auth's
 * (users, sessions, password hashes, signing keys) and the deleted accounts.
 */
const UNSCOPED_MODELS = [
  "authAccount",
  "authJwks",
  "authRateLimit",
  "authSession",
  "authUser",
  "authVerification",
  "deletedUser",
  "rateLimitHit",
  "taskChange",
];

/** Every model of the generated client, as its client property (`AuthUser` → `authUser`). */
function allModels(): string[] {
  return Object.values(Prisma.ModelName)
    .map((name) => name[0]?.toLowerCase() + name.slice(1))
    .sort();
}

describe("models without a user scope are out of reach", () => {
  it("lists every unscoped model", () => {
    expect(allModels()).toEqual(expect.arrayContaining(UNSCOPED_MODELS));
  });

  for (const model of UNSCOPED_MODELS) {
    it(`${model}: every operation is refused, and nothing is read or written`, async () => {
      await db.authUser.create({
        data: { id: "ba-bob", name: "Bob", email: "bob@example.com" },
      });
      const before = await db.authUser.findMany();
      const delegate = (db as unknown as Record<string, Record<string, unknown>>)[model] ?? {};
      const operations = Object.keys(delegate).filter((key) => typeof delegate[key] === "function");
      expect(operations.length).toBeGreaterThan(15);
      for (const operation of operations) {
        const call = (alice as unknown as Record<string, Record<string, (a: unknown) => unknown>>)[
          model
        ]?.[operation];
        await expect(
          Promise.resolve().then(() => call?.({ where: {}, data: {} })),
          `${model}.${operation} must be refused`,
        ).rejects.toEqual(refused);
      }
      expect(await db.authUser.findMany()).toEqual(before);
      await db.authUser.deleteMany();
    });
  }
});

/**
 * Every argument of the operations the scope handles, and of the relations they
 * read through `select` and `include`, read from the generated client's types.
 * Each has an entry here saying how the scope keeps it to the user's rows, and a
 * test of that against Bob's rows:
 * - scoped: rewritten so that it can only reach the user's rows;
 * - checked: refused where it would reach past the user;
 * - safe: it works only on rows already kept to the user; its test shows that
 *   its answers are the same with Bob's rows there and once they are gone.
 * A Prisma upgrade that adds an argument fails here until it has an entry (and
 * the scope refuses the argument meanwhile).
 */
describe("every argument is scoped, checked or proven safe", () => {
  const MISSING = "01900000-0000-7000-8000-000000000000";
  const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute));
  const oldestFirst: Prisma.TaskOrderByWithRelationInput[] = [{ createdAt: "asc" }, { id: "asc" }];
  const ids = (rows: { id: string }[] | null | undefined) => rows?.map((row) => row.id);
  let aliceLater: Task;

  beforeEach(async () => {
    // Bob's task between Alice's two: a cursor, an offset or a limit that saw it would show it.
    aliceTask = await db.task.update({ where: { id: aliceTask.id }, data: { createdAt: at(0) } });
    bobTask = await db.task.update({ where: { id: bobTask.id }, data: { createdAt: at(1) } });
    aliceLater = await db.task.create({
      data: { title: "alice's later", userId: "alice", priority: "LOW", createdAt: at(2) },
    });
  });

  /** Runs the reads with Bob's rows there, then again once they are gone: no answer may differ. */
  async function sameWithoutBob<T extends Record<string, () => Promise<unknown>>>(
    reads: T,
  ): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
    const run = async () => {
      const answers: Record<string, unknown> = {};
      for (const [name, read] of Object.entries(reads)) answers[name] = await read();
      return answers;
    };
    const withBob = await run();
    await db.user.delete({ where: { id: "bob" } });
    expect(await run()).toEqual(withBob);
    return withBob as { [K in keyof T]: Awaited<ReturnType<T[K]>> };
  }

  const ARGUMENTS: Record<string, { how: string; check: () => Promise<void> }> = {
    where: {
      how: "scoped: ANDed with the owner; in a relation, it filters rows the relation keeps to the user",
      async check() {
        const answers = await sameWithoutBob({
          many: () =>
            alice.task.findMany({ where: { OR: [{ userId: "bob" }, { id: bobTask.id }] } }),
          unique: () => alice.user.findUnique({ where: { email: "bob@example.com" } }),
          count: () => alice.task.count({ where: { NOT: { userId: "alice" } } }),
          aggregate: () =>
            alice.task.aggregate({ where: { user: { email: "bob@example.com" } }, _count: true }),
          groupBy: () =>
            alice.task.groupBy({ by: ["userId"], where: { userId: { in: ["alice", "bob"] } } }),
          relation: () =>
            alice.user.findMany({
              select: { tasks: { where: { priority: "HIGH" }, select: { id: true } } },
            }),
        });
        expect(answers).toEqual({
          many: [],
          unique: null,
          count: 0,
          aggregate: { _count: 0 },
          groupBy: [{ userId: "alice" }],
          relation: [{ tasks: [] }],
        });
      },
    },
    cursor: {
      how: "scoped: the owner joins the cursor's fields, so another user's row is as good as missing; a cursor naming another owner is refused",
      async check() {
        const task = (cursor: Prisma.TaskWhereUniqueInput, more: Prisma.TaskFindManyArgs = {}) =>
          alice.task.findMany({ cursor, orderBy: oldestFirst, select: { id: true }, ...more });
        const answers = await sameWithoutBob({
          bobs: () => task({ id: bobTask.id }),
          bobsBackwards: () => task({ id: bobTask.id }, { take: -5 }),
          missing: () => task({ id: MISSING }),
          first: () => alice.task.findFirst({ cursor: { id: bobTask.id }, orderBy: oldestFirst }),
          count: () => alice.task.count({ cursor: { id: bobTask.id }, orderBy: oldestFirst }),
          aggregate: () =>
            alice.task.aggregate({
              cursor: { id: bobTask.id },
              orderBy: oldestFirst,
              _count: true,
            }),
          // By email, Bob's row comes before Alice's, newest first.
          user: () =>
            alice.user.findMany({
              cursor: { email: "bob@example.com" },
              orderBy: { email: "desc" },
            }),
          // Under one parent row the relation's cursor goes into SQL (where Bob's row would
          // show), under several Prisma pages in memory: both are probed.
          relation: () =>
            alice.user.findUnique({
              where: { id: "alice" },
              select: { tasks: { cursor: { id: bobTask.id }, orderBy: oldestFirst } },
            }),
          relationBackwards: () =>
            alice.user.findUniqueOrThrow({
              where: { id: "alice" },
              include: { tasks: { cursor: { id: bobTask.id }, orderBy: oldestFirst, take: -5 } },
            }),
          relations: () =>
            alice.user.findMany({
              select: { tasks: { cursor: { id: bobTask.id }, orderBy: oldestFirst, take: -5 } },
            }),
          fluent: () =>
            alice.user
              .findUnique({ where: { id: "alice" } })
              .tasks({ cursor: { id: bobTask.id }, orderBy: oldestFirst }),
          deep: () =>
            alice.task.findMany({
              select: { user: { select: { tasks: { cursor: { id: bobTask.id }, take: -5 } } } },
            }),
          own: () => task({ id: aliceTask.id }, { skip: 1 }),
          ownBackwards: () => task({ id: aliceLater.id }, { take: -2 }),
          ownRelation: () =>
            alice.user.findUnique({
              where: { id: "alice" },
              select: { tasks: { cursor: { id: aliceLater.id }, orderBy: oldestFirst, take: -1 } },
            }),
        });
        // Prisma finds nothing from a cursor on a missing row; so it is from Bob's.
        expect(answers.missing).toEqual([]);
        expect(answers.bobs).toEqual([]);
        expect(answers.bobsBackwards).toEqual([]);
        expect([answers.first, answers.count, answers.aggregate]).toEqual([null, 0, { _count: 0 }]);
        expect(answers.user).toEqual([]);
        expect(answers.relation).toEqual({ tasks: [] });
        expect(answers.relationBackwards.tasks).toEqual([]);
        expect(answers.relations).toEqual([{ tasks: [] }]);
        expect(answers.fluent).toEqual([]);
        expect(answers.deep).toEqual([{ user: { tasks: [] } }, { user: { tasks: [] } }]);
        expect(ids(answers.own)).toEqual([aliceLater.id]);
        expect(ids(answers.ownBackwards)).toEqual([aliceTask.id, aliceLater.id]);
        expect(ids(answers.ownRelation?.tasks)).toEqual([aliceLater.id]);
        expect(ids(await task({ id: aliceTask.id, userId: "alice" }))).toEqual(
          ids([aliceTask, aliceLater]),
        );
        // Refused whatever the rows: a cursor that names another owner, or is no cursor.
        await expect(task({ id: aliceTask.id, userId: "bob" })).rejects.toEqual(refused);
        await expect(alice.user.findMany({ cursor: { id: "bob" } })).rejects.toEqual(refused);
        await expect(
          alice.user.findMany({ include: { tasks: { cursor: { id: MISSING, userId: "bob" } } } }),
        ).rejects.toEqual(refused);
        await expect(alice.task.findMany({ cursor: "x" as never })).rejects.toEqual(refused);
      },
    },
    orderBy: {
      how: "safe: orders rows already scoped; through a relation, it reaches only the user's own rows",
      async check() {
        const answers = await sameWithoutBob({
          byOwner: () =>
            alice.task.findMany({
              orderBy: [{ user: { email: "desc" } }, ...oldestFirst],
              select: { id: true },
            }),
          byOwnersTasks: () =>
            alice.task.findMany({
              orderBy: [{ user: { tasks: { _count: "desc" } } }, { createdAt: "desc" }],
              select: { id: true },
            }),
          users: () =>
            alice.user.findMany({ orderBy: { tasks: { _count: "desc" } }, select: { id: true } }),
          fromCursor: () =>
            alice.task.findMany({
              cursor: { id: aliceTask.id },
              orderBy: [{ user: { email: "asc" } }, ...oldestFirst],
              select: { id: true },
            }),
          relation: () =>
            alice.user.findMany({
              select: {
                tasks: { orderBy: [{ user: { email: "asc" } }, { createdAt: "desc" }] },
              },
            }),
          grouped: () =>
            alice.task.groupBy({ by: ["priority"], orderBy: { _max: { createdAt: "desc" } } }),
        });
        expect(ids(answers.byOwner)).toEqual(ids([aliceTask, aliceLater]));
        expect(ids(answers.byOwnersTasks)).toEqual(ids([aliceLater, aliceTask]));
        expect(answers.users).toEqual([{ id: "alice" }]);
        expect(ids(answers.fromCursor)).toEqual(ids([aliceTask, aliceLater]));
        expect(answers.relation.map((user) => ids(user.tasks))).toEqual([
          ids([aliceLater, aliceTask]),
        ]);
        expect(answers.grouped).toEqual([{ priority: "LOW" }, { priority: "MEDIUM" }]);
      },
    },
    take: {
      how: "safe: counts rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          first: () => alice.task.findMany({ orderBy: oldestFirst, take: 2 }),
          last: () => alice.task.findMany({ orderBy: oldestFirst, take: -1 }),
          count: () => alice.task.count({ orderBy: oldestFirst, take: 5 }),
          aggregate: () =>
            alice.task.aggregate({ orderBy: oldestFirst, take: -1, _min: { createdAt: true } }),
          grouped: () =>
            alice.task.groupBy({ by: ["priority"], orderBy: { priority: "desc" }, take: 1 }),
          relation: () =>
            alice.user.findMany({ select: { tasks: { orderBy: oldestFirst, take: 2 } } }),
        });
        expect(ids(answers.first)).toEqual(ids([aliceTask, aliceLater]));
        expect(ids(answers.last)).toEqual([aliceLater.id]);
        expect(answers.count).toBe(2);
        expect(answers.aggregate._min.createdAt).toEqual(at(2));
        expect(answers.grouped).toEqual([{ priority: "MEDIUM" }]);
        expect(ids(answers.relation[0]?.tasks)).toEqual(ids([aliceTask, aliceLater]));
      },
    },
    skip: {
      how: "safe: skips rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          many: () => alice.task.findMany({ orderBy: oldestFirst, skip: 1 }),
          count: () => alice.task.count({ orderBy: oldestFirst, skip: 1 }),
          aggregate: () =>
            alice.task.aggregate({ orderBy: oldestFirst, skip: 1, _max: { createdAt: true } }),
          grouped: () =>
            alice.task.groupBy({ by: ["priority"], orderBy: { priority: "asc" }, skip: 1 }),
          relation: () =>
            alice.user.findMany({ select: { tasks: { orderBy: oldestFirst, skip: 1 } } }),
        });
        expect(ids(answers.many)).toEqual([aliceLater.id]);
        expect(answers.count).toBe(1);
        expect(answers.aggregate._max.createdAt).toEqual(at(2));
        expect(answers.grouped).toEqual([{ priority: "MEDIUM" }]);
        expect(ids(answers.relation[0]?.tasks)).toEqual([aliceLater.id]);
      },
    },
    distinct: {
      how: "safe: drops repeats among rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          owners: () => alice.task.findMany({ distinct: ["userId"], orderBy: oldestFirst }),
          priorities: () =>
            alice.task.findMany({
              distinct: "priority",
              orderBy: { priority: "desc" },
              select: { priority: true },
            }),
          first: () =>
            alice.task.findFirst({ distinct: ["priority"], where: { priority: "HIGH" } }),
          relation: () =>
            alice.user.findMany({
              select: { tasks: { distinct: ["userId"], orderBy: oldestFirst } },
            }),
        });
        expect(ids(answers.owners)).toEqual([aliceTask.id]);
        expect(answers.priorities).toEqual([{ priority: "MEDIUM" }, { priority: "LOW" }]);
        expect(answers.first).toBeNull();
        expect(ids(answers.relation[0]?.tasks)).toEqual([aliceTask.id]);
      },
    },
    by: {
      how: "safe: groups rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          owner: () => alice.task.groupBy({ by: ["userId"] }),
          both: () =>
            alice.task.groupBy({ by: ["userId", "priority"], orderBy: { priority: "asc" } }),
          users: () => alice.user.groupBy({ by: "email" }),
        });
        expect(answers).toEqual({
          owner: [{ userId: "alice" }],
          both: [
            { userId: "alice", priority: "LOW" },
            { userId: "alice", priority: "MEDIUM" },
          ],
          users: [{ email: "alice@example.com" }],
        });
      },
    },
    having: {
      how: "safe: filters groups of rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          high: () => alice.task.groupBy({ by: ["priority"], having: { priority: "HIGH" } }),
          counted: () =>
            alice.task.groupBy({
              by: ["userId"],
              having: { id: { _count: { gte: 3 } } },
            }),
          latest: () =>
            alice.task.groupBy({
              by: ["priority"],
              having: { createdAt: { _max: { gte: at(1) } } },
            }),
        });
        expect(answers).toEqual({ high: [], counted: [], latest: [{ priority: "LOW" }] });
      },
    },
    _count: {
      how: "safe: counts rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          aggregate: () => alice.task.aggregate({ _count: { _all: true, dueAt: true } }),
          grouped: () =>
            alice.task.groupBy({ by: ["userId"], _count: { _all: true, priority: true } }),
          users: () => alice.user.aggregate({ _count: true }),
        });
        expect(answers).toEqual({
          aggregate: { _count: { _all: 2, dueAt: 0 } },
          grouped: [{ userId: "alice", _count: { _all: 2, priority: 2 } }],
          users: { _count: 1 },
        });
      },
    },
    _min: {
      how: "safe: the least of rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          aggregate: () => alice.task.aggregate({ _min: { createdAt: true, title: true } }),
          grouped: () => alice.task.groupBy({ by: ["userId"], _min: { priority: true } }),
          users: () => alice.user.aggregate({ _min: { email: true } }),
        });
        expect(answers).toEqual({
          aggregate: { _min: { createdAt: at(0), title: "alice's" } },
          grouped: [{ userId: "alice", _min: { priority: "LOW" } }],
          users: { _min: { email: "alice@example.com" } },
        });
      },
    },
    _max: {
      how: "safe: the greatest of rows already scoped",
      async check() {
        const answers = await sameWithoutBob({
          // Bob's task is HIGH; Alice's are at most MEDIUM.
          aggregate: () => alice.task.aggregate({ _max: { createdAt: true, priority: true } }),
          grouped: () => alice.task.groupBy({ by: ["userId"], _max: { title: true } }),
          users: () => alice.user.aggregate({ _max: { email: true } }),
        });
        expect(answers).toEqual({
          aggregate: { _max: { createdAt: at(2), priority: "MEDIUM" } },
          grouped: [{ userId: "alice", _max: { title: "alice's later" } }],
          users: { _max: { email: "alice@example.com" } },
        });
      },
    },
    _sum: {
      how: "safe: the sum over rows already scoped (a user's only number is its task count)",
      async check() {
        const own = await db.task.count({ where: { userId: "alice" } });
        const answers = await sameWithoutBob({
          users: () => alice.user.aggregate({ _sum: { taskCount: true } }),
          grouped: () => alice.user.groupBy({ by: ["id"], _sum: { taskCount: true } }),
        });
        expect(answers).toEqual({
          users: { _sum: { taskCount: own } },
          grouped: [{ id: "alice", _sum: { taskCount: own } }],
        });
      },
    },
    _avg: {
      how: "safe: the average over rows already scoped",
      async check() {
        const own = await db.task.count({ where: { userId: "alice" } });
        const answers = await sameWithoutBob({
          users: () => alice.user.aggregate({ _avg: { taskCount: true } }),
          grouped: () => alice.user.groupBy({ by: ["id"], _avg: { taskCount: true } }),
        });
        expect(answers).toEqual({
          users: { _avg: { taskCount: own } },
          grouped: [{ id: "alice", _avg: { taskCount: own } }],
        });
      },
    },
    select: {
      how: "safe: its fields are the scoped rows'; its relations' arguments are checked and their cursors scoped",
      async check() {
        const answers = await sameWithoutBob({
          deep: () =>
            alice.task.findMany({
              orderBy: oldestFirst,
              select: {
                id: true,
                user: {
                  select: {
                    id: true,
                    tasks: {
                      where: { priority: { in: ["HIGH", "LOW"] } },
                      orderBy: oldestFirst,
                      select: { id: true, user: { select: { email: true } } },
                    },
                  },
                },
              },
            }),
          counted: () =>
            alice.user.findMany({
              select: { id: true, _count: { select: { tasks: { where: { userId: "bob" } } } } },
            }),
          count: () => alice.task.count({ select: { _all: true, userId: true } }),
        });
        const later = { id: aliceLater.id, user: { email: "alice@example.com" } };
        const owner = { id: "alice", tasks: [later] };
        expect(answers).toEqual({
          deep: [
            { id: aliceTask.id, user: owner },
            { id: aliceLater.id, user: owner },
          ],
          counted: [{ id: "alice", _count: { tasks: 0 } }],
          count: { _all: 2, userId: 2 },
        });
      },
    },
    include: {
      how: "safe: its relations reach only the user's rows; their arguments are checked and their cursors scoped, on reads and writes",
      async check() {
        const before = await bobsRows();
        const created = await alice.task.create({
          data: ownerless({ title: "new", createdAt: at(3) }),
          include: { user: { include: { tasks: { cursor: { id: bobTask.id }, take: -5 } } } },
        });
        expect(created.user.id).toBe("alice");
        expect(created.user.tasks).toEqual([]);
        const updated = await alice.user.update({
          where: { id: "alice" },
          data: { name: "Alice" },
          include: { tasks: { cursor: { id: bobTask.id }, orderBy: oldestFirst }, _count: true },
        });
        expect(updated.tasks).toEqual([]);
        expect(updated._count.tasks).toBe(3);
        const returned = await alice.task.updateManyAndReturn({
          data: { completed: true },
          include: { user: true },
        });
        expect(returned.map((task) => task.user.id)).toEqual(["alice", "alice", "alice"]);
        const deleted = await alice.task.delete({
          where: { id: created.id },
          include: { user: { include: { tasks: { orderBy: oldestFirst } } } },
        });
        // The row is read before it goes, with its owner's tasks as they were.
        expect(ids(deleted.user.tasks)).toEqual(ids([aliceTask, aliceLater, created]));
        expect(await bobsRows()).toEqual(before);
        const answers = await sameWithoutBob({
          tasks: () =>
            alice.task.findMany({
              orderBy: oldestFirst,
              include: { user: { include: { tasks: { orderBy: oldestFirst, skip: 1 } } } },
            }),
        });
        expect(answers.tasks.map((task) => ids(task.user.tasks))).toEqual([
          [aliceLater.id],
          [aliceLater.id],
        ]);
      },
    },
    omit: {
      how: "safe: only leaves out fields of the scoped rows",
      async check() {
        const answers = await sameWithoutBob({
          tasks: () =>
            alice.task.findMany({
              orderBy: oldestFirst,
              omit: { description: true, userId: true },
              include: { user: { omit: { email: true } } },
            }),
        });
        expect(ids(answers.tasks)).toEqual(ids([aliceTask, aliceLater]));
        for (const task of answers.tasks) {
          expect(task).not.toHaveProperty("userId");
          expect(task.user).not.toHaveProperty("email");
          expect(task.user.id).toBe("alice");
        }
      },
    },
    data: {
      how: "checked: a new row is the user's; an update cannot give a row to another user or attach one",
      async check() {
        const before = await bobsRows();
        expect((await alice.task.create({ data: ownerless({ title: "mine" }) })).userId).toBe(
          "alice",
        );
        expect(
          await alice.task.updateMany({ where: { id: bobTask.id }, data: { userId: "alice" } }),
        ).toEqual({ count: 0 });
        await expect(alice.task.create({ data: { title: "x", userId: "bob" } })).rejects.toEqual(
          refused,
        );
        await expect(
          alice.user.update({
            where: { id: "alice" },
            data: { tasks: { connect: { id: bobTask.id } } },
          }),
        ).rejects.toEqual(refused);
        expect(await bobsRows()).toEqual(before);
      },
    },
    create: {
      how: "checked: an upsert creates only the user's row",
      async check() {
        const before = await bobsRows();
        await expect(
          alice.task.upsert({
            where: { id: MISSING },
            create: { title: "x", userId: "bob" },
            update: {},
          }),
        ).rejects.toEqual(refused);
        const created = await alice.task.upsert({
          where: { id: MISSING },
          create: ownerless({ title: "upserted" }),
          update: {},
        });
        expect(created.userId).toBe("alice");
        expect(await bobsRows()).toEqual(before);
      },
    },
    update: {
      how: "checked: an upsert updates only the user's row, and cannot give it away",
      async check() {
        const before = await bobsRows();
        await expect(
          alice.task.upsert({
            where: { id: aliceTask.id },
            create: ownerless({ title: "x" }),
            update: { user: { connect: { id: "bob" } } },
          }),
        ).rejects.toEqual(refused);
        const updated = await alice.task.upsert({
          where: { id: aliceTask.id },
          create: ownerless({ title: "x" }),
          update: { title: "renamed" },
        });
        expect(updated).toMatchObject({ id: aliceTask.id, title: "renamed", userId: "alice" });
        expect(await bobsRows()).toEqual(before);
      },
    },
    skipDuplicates: {
      how: "safe: a row whose id is taken is skipped, never written over (it tells no more than the conflict a plain create reports)",
      async check() {
        const before = await bobsRows();
        const taken = ownerless({ id: bobTask.id, title: "taken" });
        expect(
          await alice.task.createMany({
            data: [ownerless({ title: "new" }), taken],
            skipDuplicates: true,
          }),
        ).toEqual({ count: 1 });
        expect(
          await alice.task.createManyAndReturn({ data: [taken], skipDuplicates: true }),
        ).toEqual([]);
        expect(await db.task.count({ where: { userId: "alice" } })).toBe(3);
        expect(await bobsRows()).toEqual(before);
      },
    },
    limit: {
      how: "safe: caps the scoped rows a bulk write touches",
      async check() {
        const before = await bobsRows();
        expect(await alice.task.updateMany({ data: { completed: true }, limit: 2 })).toEqual({
          count: 2,
        });
        const returned = await alice.task.updateManyAndReturn({ data: { title: "t" }, limit: 5 });
        expect(returned.map((task) => task.userId)).toEqual(["alice", "alice"]);
        expect(await alice.task.deleteMany({ where: { id: bobTask.id }, limit: 1 })).toEqual({
          count: 0,
        });
        expect(await db.task.count({ where: { userId: "alice", completed: true } })).toBe(2);
        expect(await bobsRows()).toEqual(before);
      },
    },
  };

  it("lists every argument the generated client has, and the scope takes exactly those", () => {
    const generated = generatedArguments(["Task", "User"], SCOPED_OPERATIONS);
    const expected: Record<string, string[]> = {};
    for (const model of ["Task", "User"]) {
      for (const operation of SCOPED_OPERATIONS) {
        expected[`${model}.${operation}`] = [
          ...(SCOPED_ARGUMENTS[model]?.[operation] ?? []),
        ].sort();
      }
    }
    for (const [model, relations] of Object.entries(SCOPED_RELATIONS)) {
      for (const [name, relation] of Object.entries(relations)) {
        expected[`${model}.${name}`] = [...relation.arguments].sort();
      }
    }
    expect(generated).toEqual(expected);
    const names = [...new Set(Object.values(generated).flat())].sort();
    expect(Object.keys(ARGUMENTS).sort()).toEqual(names);
  });

  for (const [name, { how, check }] of Object.entries(ARGUMENTS)) it(`${name} (${how})`, check);

  it("anything else is refused before it reaches the database", async () => {
    const reached: { call: string; args: unknown }[] = [];
    // Added after the scope, this sees what the scope lets through to the database.
    const spied = (alice as unknown as PrismaClient).$extends({
      query: {
        async $allOperations({ model, operation, args, query }) {
          reached.push({ call: `${model}.${operation}`, args });
          return query(args);
        },
      },
    }) as unknown as ScopedDb;
    const before = await Promise.all([bobsRows(), db.task.findMany({ orderBy: { id: "asc" } })]);
    const calls: [string, () => Promise<unknown>][] = [
      [
        "an argument the scope does not know",
        () => spied.task.findMany({ relationLoadStrategy: "join" } as never),
      ],
      ["another operation's argument", () => spied.task.deleteMany({ take: 1 } as never)],
      [
        "an argument the relation does not take",
        () => spied.task.findMany({ include: { user: { where: { id: "bob" } } } } as never),
      ],
      [
        "a cursor where a relation count takes none",
        () =>
          spied.user.findMany({
            select: { _count: { select: { tasks: { cursor: { id: bobTask.id } } } } },
          } as never),
      ],
      [
        "a cursor on another owner",
        () => spied.task.findMany({ cursor: { id: bobTask.id, userId: "bob" } }),
      ],
      ["a cursor on another user", () => spied.user.findMany({ cursor: { id: "bob" } })],
      [
        "a relation's cursor on another owner",
        () =>
          spied.user.findUnique({
            where: { id: "alice" },
            include: { tasks: { cursor: { id: bobTask.id, userId: "bob" } } },
          }),
      ],
    ];
    for (const [what, call] of calls) {
      await expect(Promise.resolve().then(call), what).rejects.toThrow(ScopeViolationError);
      await expect(Promise.resolve().then(call), what).rejects.toThrow(/user-scoped client/);
    }
    expect(reached).toEqual([]);
    expect(await Promise.all([bobsRows(), db.task.findMany({ orderBy: { id: "asc" } })])).toEqual(
      before,
    );
    // The spy does see what gets through, with the owner in the cursor.
    await spied.task.findMany({ cursor: { id: aliceTask.id }, select: { id: true } });
    expect(reached).toEqual([
      {
        call: "Task.findMany",
        args: expect.objectContaining({ cursor: { id: aliceTask.id, userId: "alice" } }),
      },
    ]);
  });
});

/**
 * The arguments the generated client's types declare, for each operation of the
 * models (`Task.findMany`) and for each relation that `select` or `include` can
 * read with arguments of its own (`User.tasks`, named after the selecting type).
 */
function generatedArguments(models: string[], operations: string[]): Record<string, string[]> {
  const file = fileURLToPath(new URL("./generated-arguments.ts", import.meta.url));
  const aliases = models.flatMap((model) =>
    operations.map((operation) => ({
      location: `${model}.${operation}`,
      alias: `${model}_${operation}`,
      type: `Prisma.${model}${operation[0]?.toUpperCase()}${operation.slice(1)}Args`,
    })),
  );
  const text = [
    `import type { Prisma } from "../src/generated/prisma/client.ts";`,
    ...aliases.map(({ alias, type }) => `export type ${alias} = ${type};`),
  ].join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2023,
    lib: ["lib.es2023.d.ts"],
    types: [],
  };
  // The file exists only for the compiler: the one place that names each Args type.
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file
      ? ts.createSourceFile(name, text, language)
      : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file);
  if (!source) throw new Error("The compiler did not read the arguments file.");
  expect(ts.formatDiagnostics(program.getSemanticDiagnostics(source), host)).toBe("");
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const exported = new Map(
    (moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []).map((s) => [s.name, s]),
  );

  const found: Record<string, Set<string>> = {};
  const seen = new Set<string>();
  /** The object types a property may hold: `boolean | UserDefaultArgs` gives UserDefaultArgs. */
  const objectsIn = (type: ts.Type): ts.Type[] =>
    (type.isUnion() ? type.types : [type]).filter(
      (member) => member.flags & ts.TypeFlags.Object && !checker.isArrayType(member),
    );
  const visit = (location: string, type: ts.Type) => {
    const key = `${location} ${checker.typeToString(type)}`;
    if (seen.has(key)) return;
    seen.add(key);
    const names = found[location] ?? new Set<string>();
    found[location] = names;
    for (const argument of checker.getPropertiesOfType(checker.getApparentType(type))) {
      names.add(argument.name);
      if (argument.name !== "select" && argument.name !== "include") continue;
      for (const selection of objectsIn(
        checker.getNonNullableType(checker.getTypeOfSymbol(argument)),
      )) {
        const name = selection.aliasSymbol?.name ?? selection.getSymbol()?.name ?? "?";
        const owner = name.replace(
          /(Select|Include)(CreateManyAndReturn|UpdateManyAndReturn)?$/,
          "",
        );
        for (const field of checker.getPropertiesOfType(selection)) {
          for (const args of objectsIn(
            checker.getNonNullableType(checker.getTypeOfSymbol(field)),
          )) {
            visit(`${owner}.${field.name}`, args);
          }
        }
      }
    }
  };
  for (const { location, alias } of aliases) {
    const symbol = exported.get(alias);
    if (!symbol) throw new Error(`${alias} is not in the arguments file.`);
    visit(location, checker.getDeclaredTypeOfSymbol(symbol));
  }
  return Object.fromEntries(
    Object.entries(found)
      .map(([location, names]) => [location, [...names].sort()] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
