// The scoped client with its rewriting of arguments removed: each operation still sends its
// user, and the database's row-level security alone keeps users apart. Prisma runs some calls
// of one tick together (findUnique batching, transactions): none may run under another's user.
import { beforeAll, describe, expect, it } from "vitest";
import { forUser, type PrismaClient, type ScopedDb } from "../src/index.ts";
import { useTestDb, withoutScopeRewriting } from "../src/testing.ts";

const testDb = useTestDb();
withoutScopeRewriting();

let owner: PrismaClient;
let alice: ScopedDb;
let bob: ScopedDb;
const ids: Record<"alice" | "bob", string> = { alice: "", bob: "" };

beforeAll(async () => {
  owner = testDb.owner;
  alice = forUser(testDb.client, "alice");
  bob = forUser(testDb.client, "bob");
  await owner.user.createMany({
    data: [
      { id: "alice", email: "alice@example.com" },
      { id: "bob", email: "bob@example.com" },
    ],
  });
  for (const user of ["alice", "bob"] as const) {
    ids[user] = (await owner.task.create({ data: { title: `${user}'s`, userId: user } })).id;
  }
});

describe("row-level security alone", () => {
  it("an unfiltered read sees the user's rows only", async () => {
    expect((await alice.task.findMany()).map((task) => task.title)).toEqual(["alice's"]);
    expect(await bob.user.findMany({ select: { id: true } })).toEqual([{ id: "bob" }]);
    expect(await alice.task.findUnique({ where: { id: ids.bob } })).toBeNull();
  });

  it("findUnique calls of several users in one tick each run as their user", async () => {
    for (let round = 0; round < 20; round++) {
      const found = await Promise.all([
        alice.task.findUnique({ where: { id: ids.alice } }),
        bob.task.findUnique({ where: { id: ids.bob } }),
        alice.user.findUniqueOrThrow({ where: { id: "alice" } }),
        bob.task.findUnique({ where: { id: ids.alice } }),
      ]);
      expect(found.map((row) => row?.id ?? null)).toEqual([ids.alice, ids.bob, "alice", null]);
    }
  });

  it("transactions of several users at once each run as their user", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const [me, user] = i % 2 === 0 ? (["alice", alice] as const) : (["bob", bob] as const);
        return i % 4 < 2
          ? user.$transaction(async (tx) => {
              const listed = await tx.task.findMany();
              const found = await tx.task.findUnique({ where: { id: ids.alice } });
              return { me, titles: listed.map((task) => task.title), found: found?.id ?? null };
            })
          : user
              .$transaction([
                user.task.findMany(),
                user.task.findFirst({ where: { id: ids.alice } }),
              ])
              .then(([listed, found]) => ({
                me,
                titles: listed.map((task) => task.title),
                found: found?.id ?? null,
              }));
      }),
    );
    for (const { me, titles, found } of results) {
      expect(titles).toEqual([`${me}'s`]);
      expect(found).toBe(me === "alice" ? ids.alice : null);
    }
  });

  it("writes reach the user's rows only; a row cannot be given to another user", async () => {
    expect(await bob.task.updateMany({ data: { title: "taken" } })).toEqual({ count: 1 });
    await expect(
      alice.task.update({ where: { id: ids.bob }, data: { title: "taken" } }),
    ).rejects.toThrow();
    await expect(alice.task.create({ data: { title: "for bob", userId: "bob" } })).rejects.toThrow(
      /row-level security/,
    );
    await expect(
      alice.task.update({ where: { id: ids.alice }, data: { userId: "bob" } }),
    ).rejects.toThrow(/row-level security/);
    expect(await alice.task.deleteMany()).toEqual({ count: 1 });
    expect(
      (await owner.task.findMany({ orderBy: { title: "asc" } })).map((task) => task.title),
    ).toEqual(["taken"]);
  });
});
