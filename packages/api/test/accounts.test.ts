import type { PrismaClient } from "@tasks/db";
import { useTestDb } from "@tasks/db/testing";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AccountError, createAccounts, deleteAccount } from "../src/accounts.ts";

const testDb = useTestDb();
/** Every operation that reaches the database, as `Model.operation`. */
let operations: string[];
let db: PrismaClient;

beforeAll(() => {
  db = testDb.client.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        operations.push(`${model}.${operation}`);
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
});

beforeEach(() => {
  operations = [];
});

describe("accounts", () => {
  it("creates the user on first sight, from the token's claims", async () => {
    const accounts = createAccounts(db);
    await accounts.ensure({
      userId: "first",
      email: "first@example.com",
      emailVerified: true,
      name: "First",
      image: "https://img.test/f.png",
    });
    expect(await testDb.owner.user.findUnique({ where: { id: "first" } })).toMatchObject({
      email: "first@example.com",
      emailVerified: true,
      name: "First",
      image: "https://img.test/f.png",
    });
  });

  it("later requests neither write nor read", async () => {
    const accounts = createAccounts(db);
    await accounts.ensure({ userId: "steady", email: "steady@example.com" });
    const afterFirst = operations.length;
    for (let i = 0; i < 20; i++) await accounts.ensure({ userId: "steady" });
    expect(operations.length).toBe(afterFirst);
  });

  it("an existing user is read once, never written", async () => {
    await testDb.owner.user.create({ data: { id: "known", email: "known@example.com" } });
    const accounts = createAccounts(db);
    await accounts.ensure({ userId: "known" });
    await accounts.ensure({ userId: "known" });
    expect(operations).toEqual(["User.count"]);
  });

  it("parallel first sights create one row", async () => {
    const accounts = [createAccounts(db), createAccounts(db), createAccounts(db)];
    await Promise.all(
      accounts.flatMap((a) =>
        Array.from({ length: 5 }, () => a.ensure({ userId: "twin", email: "twin@example.com" })),
      ),
    );
    expect(await testDb.owner.user.count({ where: { id: "twin" } })).toBe(1);
  });

  it("a first sight needs an email, and an email cannot be taken from another user", async () => {
    const accounts = createAccounts(db);
    await expect(accounts.ensure({ userId: "anon" })).rejects.toMatchObject({
      reason: "EMAIL_REQUIRED",
    });
    await expect(
      accounts.ensure({ userId: "copycat", email: "twin@example.com" }),
    ).rejects.toBeInstanceOf(AccountError);
    expect(await testDb.owner.user.count({ where: { id: { in: ["anon", "copycat"] } } })).toBe(0);
  });

  it("a deleted account goes with its tasks, and its tokens cannot bring it back", async () => {
    const accounts = createAccounts(db);
    const identity = { userId: "leaver", email: "leaver@example.com" };
    await accounts.ensure(identity);
    await testDb.owner.task.create({ data: { title: "mine", userId: "leaver" } });

    expect(await accounts.delete("leaver")).toBe(true);
    expect(await testDb.owner.user.count({ where: { id: "leaver" } })).toBe(0);
    expect(await testDb.owner.task.count({ where: { userId: "leaver" } })).toBe(0);
    await expect(accounts.ensure(identity)).rejects.toMatchObject({ reason: "DELETED" });
    // Nor in another process, and nor under another email.
    await expect(
      createAccounts(db).ensure({ userId: "leaver", email: "new@example.com" }),
    ).rejects.toMatchObject({ reason: "DELETED" });
    expect(await testDb.owner.user.count({ where: { id: "leaver" } })).toBe(0);
    expect(await accounts.delete("leaver")).toBe(false);
  });

  it("an account deleted by another process is refused once the known-user time is up", async () => {
    // Long enough for the deletion between the two first calls on a loaded machine.
    const knownTtlMs = 1_500;
    const api = createAccounts(db, { knownTtlMs });
    const identity = { userId: "elsewhere", email: "elsewhere@example.com" };
    await api.ensure(identity);
    expect(await deleteAccount(testDb.client, "elsewhere")).toBe(true);
    // Still remembered: the request goes on, and finds no data of the user.
    await api.ensure(identity);
    await new Promise((resolve) => setTimeout(resolve, knownTtlMs + 100));
    await expect(api.ensure(identity)).rejects.toMatchObject({ reason: "DELETED" });
  });

  it("deleting one account leaves the others alone", async () => {
    const accounts = createAccounts(db);
    await accounts.ensure({ userId: "stays", email: "stays@example.com" });
    await testDb.owner.task.create({ data: { title: "kept", userId: "stays" } });
    await accounts.ensure({ userId: "goes", email: "goes@example.com" });
    await accounts.delete("goes");
    expect(await testDb.owner.task.count({ where: { userId: "stays" } })).toBe(1);
    expect(await testDb.owner.deletedUser.findMany({ select: { id: true } })).not.toContainEqual({
      id: "stays",
    });
  });
});
