import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  forUser,
  Prisma,
  type PrismaClient,
  type ScopedDb,
  ScopeViolationError,
  type Task,
} from "../src/index.ts";
import { SCOPED_OPERATIONS } from "../src/scoped.ts";
import { useTestDb } from "../src/testing.ts";

const testDb = useTestDb();
let db: PrismaClient;
/** The user under test, and the other user whose rows must stay out of reach. */
let alice: ScopedDb;
let bobTask: Task;
let aliceTask: Task;

beforeAll(() => {
  db = testDb.client;
  alice = forUser(db, "alice");
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
