// The changes log that live updates read: what the triggers write (numbers per user, in commit
// order, only for committed writes), what row-level security lets the app's role do with it, its
// pruning, and the listener that hears its notifications.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type ChangeNotice,
  forUser,
  latestChange,
  listenForChanges,
  neonDirectUrl,
  type PrismaClient,
  parseNotice,
  readChanges,
} from "../src/index.ts";
import { asRowOwner, testServerUrl, useTestDb } from "../src/testing.ts";

const testDb = useTestDb();
let owner: PrismaClient;
let app: PrismaClient;

beforeAll(() => {
  owner = testDb.owner;
  app = testDb.client;
});

beforeEach(async () => {
  await owner.user.deleteMany();
  await owner.taskChange.deleteMany();
  await owner.user.createMany({
    data: [
      { id: "alice", email: "alice@example.com" },
      { id: "bob", email: "bob@example.com" },
    ],
  });
});

const changes = (userId: string) => readChanges(app, userId, 0, 1_000);

describe("the triggers", () => {
  it("number each user's changes 1, 2, 3, …, a statement of many rows one after the other", async () => {
    const alice = forUser(app, "alice");
    await alice.task.createMany({
      data: [
        { userId: "alice", title: "a" },
        { userId: "alice", title: "b" },
        { userId: "alice", title: "c" },
      ],
    });
    const [first] = await alice.task.findMany({ orderBy: { title: "asc" } });
    await alice.task.update({ where: { id: first?.id as string }, data: { completed: true } });
    await alice.task.deleteMany({ where: { title: { in: ["b", "c"] } } });
    await forUser(app, "bob").task.create({ data: { userId: "bob", title: "bob's" } });
    expect((await changes("alice")).map(({ seq, kind }) => `${seq} ${kind}`)).toEqual([
      "1 created",
      "2 created",
      "3 created",
      "4 updated",
      "5 deleted",
      "6 deleted",
    ]);
    expect(await latestChange(app, "alice")).toBe(6);
    expect((await changes("bob")).map(({ seq }) => seq)).toEqual([1]);
  });

  it("log nothing for a write that rolls back, and take no number for it", async () => {
    const alice = forUser(app, "alice");
    await expect(
      alice.$transaction(async (tx) => {
        await tx.task.create({ data: { userId: "alice", title: "gone" } });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await alice.task.create({ data: { userId: "alice", title: "kept" } });
    expect((await changes("alice")).map(({ seq }) => seq)).toEqual([1]);
  });

  it("number in commit order under parallel writes of one user", async () => {
    const alice = forUser(app, "alice");
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        alice.task.create({ data: { userId: "alice", title: `t${i}` } }),
      ),
    );
    await Promise.all(
      created.map((task) =>
        alice.task.update({ where: { id: task.id }, data: { completed: true } }),
      ),
    );
    const logged = await changes("alice");
    expect(logged.map(({ seq }) => seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Each task's creation comes before its update.
    for (const task of created) {
      const mine = logged.filter(({ taskId }) => taskId === task.id).map(({ kind }) => kind);
      expect(mine).toEqual(["created", "updated"]);
    }
  });

  it("end a deleted account's log with account_deleted, and log none of its cascaded tasks", async () => {
    const alice = forUser(app, "alice");
    await alice.task.create({ data: { userId: "alice", title: "a" } });
    await alice.user.deleteMany();
    expect((await changes("alice")).map(({ seq, kind }) => `${seq} ${kind}`)).toEqual([
      "1 created",
      "2 account_deleted",
    ]);
    // An account made again under that id numbers on.
    await owner.user.create({ data: { id: "alice", email: "alice@example.com" } });
    await alice.task.create({ data: { userId: "alice", title: "again" } });
    expect((await changes("alice")).map(({ seq }) => seq)).toEqual([1, 2, 3]);
  });
});

describe("row-level security on the log", () => {
  it("the app's role reads only its user's changes, even with a filter on another", async () => {
    await forUser(app, "bob").task.create({ data: { userId: "bob", title: "bob's" } });
    const read = await asRowOwner(
      "alice",
      async () => await app.taskChange.findMany({ where: { userId: "bob" } }),
    );
    expect(read).toEqual([]);
    expect(await app.taskChange.count()).toBe(0);
    expect(await owner.taskChange.count()).toBe(1);
  });

  it("the app's role cannot write changes for another user, nor edit or remove any", async () => {
    await forUser(app, "alice").task.create({ data: { userId: "alice", title: "a" } });
    await expect(
      asRowOwner(
        "alice",
        async () =>
          await app.taskChange.create({ data: { userId: "bob", seq: 9, kind: "created" } }),
      ),
    ).rejects.toThrow();
    await expect(
      asRowOwner("alice", async () => await app.taskChange.updateMany({ data: { seq: 7 } })),
    ).rejects.toThrow();
    await expect(
      asRowOwner("alice", async () => await app.taskChange.deleteMany()),
    ).rejects.toThrow();
    expect(
      (await owner.taskChange.findMany()).map(({ userId, seq }) => `${userId} ${seq}`),
    ).toEqual(["alice 1"]);
  });

  it("prune_task_changes drops what is older than it keeps, and keeps at least a minute", async () => {
    await forUser(app, "alice").task.createMany({
      data: [
        { userId: "alice", title: "a" },
        { userId: "alice", title: "b" },
      ],
    });
    await owner.$executeRaw`UPDATE task_changes SET created_at = now() - interval '2 hours' WHERE seq = 1`;
    const [nothing] = await app.$queryRaw<{ n: number }[]>`SELECT prune_task_changes('0') AS n`;
    expect(nothing?.n).toBe(1);
    expect((await changes("alice")).map(({ seq }) => seq)).toEqual([2]);
  });
});

describe("listenForChanges", () => {
  it("reads `<seq>:<user id>` payloads, and nothing else", () => {
    expect(parseNotice("12:alice")).toEqual({ seq: 12, userId: "alice" });
    expect(parseNotice("3:a:b")).toEqual({ seq: 3, userId: "a:b" });
    for (const bad of ["", "alice", ":alice", "12:", "x:alice", undefined]) {
      expect(parseNotice(bad)).toBeNull();
    }
  });

  it("listens on Neon's direct host, not its -pooler one, by default", () => {
    expect(
      neonDirectUrl(
        "postgres://app:pw@ep-cool-1-pooler.eu-central-1.aws.neon.tech/db?sslmode=require",
      ),
    ).toBe("postgres://app:pw@ep-cool-1.eu-central-1.aws.neon.tech/db?sslmode=require");
    expect(neonDirectUrl("postgres://app@ep-cool-1.eu-central-1.aws.neon.tech/db")).toBe(
      "postgres://app@ep-cool-1.eu-central-1.aws.neon.tech/db",
    );
  });

  let listener: ReturnType<typeof listenForChanges> | undefined;
  afterAll(() => listener?.close());

  it.runIf(testServerUrl())(
    "hears committed changes, and comes back with backoff when its connection is cut",
    async () => {
      const heard: ChangeNotice[] = [];
      let listening = 0;
      const failures: string[] = [];
      listener = listenForChanges({
        client: () => testDb.database.listenClient(),
        onNotice: (notice) => heard.push(notice),
        onListening: () => listening++,
        onFailure: (reason) => failures.push(reason),
      });
      await listener.ready;
      const alice = forUser(app, "alice");
      await alice.task.createMany({
        data: [
          { userId: "alice", title: "a" },
          { userId: "alice", title: "b" },
        ],
      });
      await expect.poll(() => heard).toEqual([{ userId: "alice", seq: 2 }]);

      await owner.$executeRaw`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'tasks-listener'`;
      await expect.poll(() => listening, { timeout: 5_000 }).toBe(2);
      expect(failures.length).toBeGreaterThan(0);
      await alice.task.create({ data: { userId: "alice", title: "c" } });
      await expect.poll(() => heard.at(-1)).toEqual({ userId: "alice", seq: 3 });
    },
  );
});
