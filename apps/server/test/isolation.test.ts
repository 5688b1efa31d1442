import { TRPCClientError } from "@trpc/client";
import { beforeAll, describe, expect, it } from "vitest";
import { signToken, snapshot, type TestApi, useTestApi } from "./support.ts";

const setup = useTestApi("jwks");
let alice: ReturnType<TestApi["client"]>;
let bob: ReturnType<TestApi["client"]>;
let aliceTaskIds: string[];

beforeAll(async () => {
  alice = setup.api.client(
    await signToken({ sub: "alice", email: "alice@example.com" }, { jwks: setup.jwks }),
  );
  bob = setup.api.client(
    await signToken({ sub: "bob", email: "bob@example.com" }, { jwks: setup.jwks }),
  );
  const created = [];
  for (const title of ["a1", "a2", "a3"]) created.push(await alice.task.create.mutate({ title }));
  await alice.task.update.mutate({ id: created[0]?.id ?? "", completed: true });
  aliceTaskIds = created.map((task) => task.id);
  await bob.task.create.mutate({ title: "b1" });
});

async function expectNotFound(call: () => Promise<unknown>) {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  expect((error as TRPCClientError<never>).data).toMatchObject({
    code: "NOT_FOUND",
    httpStatus: 404,
  });
  return (error as Error).message;
}

describe("another user's tasks are invisible", () => {
  it("every task procedure on alice's ids answers NOT_FOUND to bob and changes nothing", async () => {
    const before = await snapshot(setup.api.db);
    const messages = new Set<string>();
    for (const id of aliceTaskIds) {
      messages.add(await expectNotFound(() => bob.task.byId.query({ id })));
      messages.add(await expectNotFound(() => bob.task.update.mutate({ id, title: "mine now" })));
      messages.add(await expectNotFound(() => bob.task.update.mutate({ id, completed: false })));
      messages.add(await expectNotFound(() => bob.task.delete.mutate({ id })));
    }
    // A task that exists for someone else and one that does not exist at all look the same.
    const missing = "01890a5d-ac96-774b-bcce-b302099a8057";
    messages.add(await expectNotFound(() => bob.task.byId.query({ id: missing })));
    messages.add(await expectNotFound(() => bob.task.update.mutate({ id: missing, title: "x" })));
    messages.add(await expectNotFound(() => bob.task.delete.mutate({ id: missing })));
    expect(messages.size).toBe(1);
    expect(await snapshot(setup.api.db)).toBe(before);
  });

  it("bob's list and stats never include alice's rows", async () => {
    const list = await bob.task.list.query({ limit: 100 });
    expect(list.items.map((task) => task.title)).toEqual(["b1"]);
    expect(await bob.task.list.query({ search: "a1" })).toEqual({ items: [], nextCursor: null });
    expect(await bob.task.list.query({ completed: true })).toEqual({ items: [], nextCursor: null });
    expect(await bob.task.stats.query()).toEqual({ total: 1, completed: 0, open: 1 });
    expect(await alice.task.stats.query()).toEqual({ total: 3, completed: 1, open: 2 });
  });

  it("a cursor made from alice's listing shows bob only his own tasks", async () => {
    const page = await alice.task.list.query({ limit: 1 });
    expect(page.nextCursor).toBeTypeOf("string");
    const bobs = await bob.task.list.query({ cursor: page.nextCursor ?? undefined, limit: 100 });
    // The cursor is only a position: past it alice has two tasks, bob (whose one task is newer
    // than all of hers) none, and he is shown none of hers.
    const alices = await alice.task.list.query({
      cursor: page.nextCursor ?? undefined,
      limit: 100,
    });
    expect(alices.items.map((task) => task.title)).toEqual(["a2", "a1"]);
    expect(bobs).toEqual({ items: [], nextCursor: null });
  });

  it("user.me and user.update act on the caller only", async () => {
    expect((await bob.user.me.query()).id).toBe("bob");
    await bob.user.update.mutate({ name: "Bob" });
    expect((await alice.user.me.query()).name).toBeNull();
  });

  it("bob deleting his account leaves alice's rows untouched", async () => {
    const aliceRows = async () =>
      JSON.stringify(
        await setup.api.db.task.findMany({ where: { userId: "alice" }, orderBy: { id: "asc" } }),
      );
    const before = await aliceRows();
    await bob.user.delete.mutate();
    expect(await aliceRows()).toBe(before);
    expect(await setup.api.db.user.count({ where: { id: "alice" } })).toBe(1);
  });
});
