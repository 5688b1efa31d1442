// The orders of task.list and task.byStatus (`sort`), paged by their cursors, and task.stats with
// filters, through the real server and database.
import { TRPCClientError } from "@trpc/client";
import { beforeAll, describe, expect, it } from "vitest";
import { signToken, type TestApi, useTestApi } from "./support.ts";
import { type Filter, SORTS, type Sort, type Task, TaskModel } from "./task-model.ts";

const setup = useTestApi("secret");
type Client = ReturnType<TestApi["client"]>;

let client: Client;
const model = new TaskModel(1);

const JAN_1 = new Date("2030-01-01T00:00:00.000Z");
const JAN_2 = new Date("2030-01-02T00:00:00.000Z");

/** Oldest first; each name says its due date (or none) and priority. */
const CREATED = [
  { title: "jan1 low", dueAt: JAN_1, priority: "LOW" },
  { title: "none high", priority: "HIGH" },
  { title: "jan2 medium", dueAt: JAN_2, priority: "MEDIUM" },
  { title: "jan1 high", dueAt: JAN_1, priority: "HIGH" },
  { title: "none low", priority: "LOW", description: "errand" },
  { title: "jan2 high", dueAt: JAN_2, priority: "HIGH", description: "errand" },
  { title: "none medium", priority: "MEDIUM" },
] as const;

beforeAll(async () => {
  client = setup.api.client(await signToken({ sub: "sorter", email: "sorter@example.com" }), {
    batch: false,
  });
  for (const input of CREATED) {
    model.put(0, await client.task.create.mutate(input));
    // Distinct creation times, so that the expected orders below are the only ones.
    await new Promise((done) => setTimeout(done, 3));
  }
  const done = model.list(0, { search: "jan2 medium" })[0] as Task;
  model.put(0, await client.task.update.mutate({ id: done.id, completed: true }));
});

type ListInput = Filter & { sort?: Sort };

/** Every page of a listing with `limit`, following the cursor to the end. */
async function pageThrough(input: ListInput, limit: number): Promise<Task[]> {
  const seen: Task[] = [];
  let cursor: string | undefined;
  for (let page = 0; page <= CREATED.length; page++) {
    const result = await client.task.list.query({ ...input, limit, cursor });
    expect(result.items.length).toBeLessThanOrEqual(limit);
    seen.push(...result.items);
    if (result.nextCursor === null) return seen;
    cursor = result.nextCursor;
  }
  throw new Error("the listing never ended");
}

const titles = (tasks: { title: string }[]) => tasks.map((task) => task.title);

async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return (error as TRPCClientError<never>).data as unknown as {
    code: string;
    httpStatus: number;
    zodError: { fieldErrors: Record<string, string[]> };
  };
}

describe("the orders", () => {
  it("created (the default): newest first", async () => {
    const expected = [...CREATED].reverse().map((task) => task.title);
    expect(titles((await client.task.list.query()).items)).toEqual(expected);
    expect(titles((await client.task.list.query({ sort: "created" })).items)).toEqual(expected);
  });

  it("due: soonest first, undated last, ties newest first", async () => {
    expect(titles((await client.task.list.query({ sort: "due" })).items)).toEqual([
      "jan1 high",
      "jan1 low",
      "jan2 high",
      "jan2 medium",
      "none medium",
      "none low",
      "none high",
    ]);
  });

  it("priority: HIGH, MEDIUM, LOW, ties newest first", async () => {
    expect(titles((await client.task.list.query({ sort: "priority" })).items)).toEqual([
      "jan2 high",
      "jan1 high",
      "none high",
      "none medium",
      "jan2 medium",
      "none low",
      "jan1 low",
    ]);
  });

  it("byStatus takes the same orders", async () => {
    const open = await client.task.byStatus.query({ status: "open", sort: "due" });
    expect(titles(open.items)).toEqual(titles(model.list(0, { completed: false }, "due")));
    const byPriority = await client.task.byStatus.query({ status: "open", sort: "priority" });
    expect(titles(byPriority.items)).toEqual(
      titles(model.list(0, { completed: false }, "priority")),
    );
  });
});

describe("paging", () => {
  it("due pages across the boundary from dated to undated tasks one and two at a time", async () => {
    const all = model.list(0, {}, "due");
    for (const limit of [1, 2]) {
      expect(titles(await pageThrough({ sort: "due" }, limit)), `limit ${limit}`).toEqual(
        titles(all),
      );
    }
    // The first page after the last dated task holds only undated ones.
    const dated = await client.task.list.query({ sort: "due", limit: 4 });
    expect(dated.items.every((task) => task.dueAt !== null)).toBe(true);
    const undated = await client.task.list.query({
      sort: "due",
      limit: 2,
      cursor: dated.nextCursor ?? undefined,
    });
    expect(titles(undated.items)).toEqual(["none medium", "none low"]);
  });

  it("every order, every limit and filters: the pages hold the model's listing", async () => {
    const filters: Filter[] = [
      {},
      { completed: false },
      { priority: "HIGH" },
      { search: "jan" },
      { search: "ERRAND", completed: false },
    ];
    for (const sort of SORTS) {
      for (const filter of filters) {
        for (const limit of [1, 2, 3, 100]) {
          expect(titles(await pageThrough({ ...filter, sort }, limit)), sort).toEqual(
            titles(model.list(0, filter, sort)),
          );
        }
      }
    }
  });

  it("a cursor is a position: it still pages once its task is gone or has changed", async () => {
    const extra = await client.task.create.mutate({ title: "extra", dueAt: JAN_1 });
    try {
      // "extra" is the newest of the tasks due on Jan 1: the first of the due order.
      const first = await client.task.list.query({ sort: "due", limit: 1 });
      expect(titles(first.items)).toEqual(["extra"]);
      await client.task.update.mutate({ id: extra.id, dueAt: null });
      const next = await client.task.list.query({
        sort: "due",
        cursor: first.nextCursor ?? undefined,
      });
      // It moved behind the position, to the undated tasks, where it is listed again (first of
      // them: the newest).
      const byDue = titles(model.list(0, {}, "due"));
      expect(titles(next.items)).toEqual([...byDue.slice(0, 4), "extra", ...byDue.slice(4)]);
      await client.task.delete.mutate({ id: extra.id });
      const after = await client.task.list.query({
        sort: "due",
        cursor: first.nextCursor ?? undefined,
      });
      expect(titles(after.items)).toEqual(byDue);
    } finally {
      await client.task.delete.mutate({ id: extra.id }).catch(() => undefined);
    }
  });

  it("a cursor of the listing before it had orders still pages newest first", async () => {
    const newest = model.tasks(0)[0] as Task;
    const legacy = Buffer.from(
      JSON.stringify([newest.createdAt.toISOString(), newest.id]),
    ).toString("base64url");
    const page = await client.task.list.query({ cursor: legacy });
    expect(titles(page.items)).toEqual(titles(model.tasks(0).slice(1)));
    const refused = await refusal(client.task.list.query({ cursor: legacy, sort: "due" }));
    expect(refused.zodError.fieldErrors).toEqual({ cursor: ["Invalid cursor."] });
  });
});

describe("a cursor of one order used with another", () => {
  it("is refused as an invalid cursor (400), by list and byStatus alike", async () => {
    for (const from of SORTS) {
      const page = await client.task.list.query({ sort: from, limit: 2 });
      const cursor = page.nextCursor ?? "";
      expect(cursor).not.toBe("");
      // The same cursor pages its own order.
      await expect(client.task.list.query({ sort: from, cursor })).resolves.toBeDefined();
      for (const to of SORTS.filter((sort) => sort !== from)) {
        for (const call of [
          client.task.list.query({ sort: to, cursor }),
          client.task.byStatus.query({ status: "open", sort: to, cursor }),
        ]) {
          const data = await refusal(call);
          expect(data, `${from} → ${to}`).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
          expect(data.zodError.fieldErrors).toEqual({ cursor: ["Invalid cursor."] });
        }
      }
      // No sort means `created`.
      if (from !== "created") await refusal(client.task.list.query({ cursor }));
    }
  });

  it("is told apart from a malformed one by nothing: both read `Invalid cursor.`", async () => {
    const malformed = await refusal(client.task.list.query({ cursor: "garbage" }));
    expect(malformed.zodError.fieldErrors).toEqual({ cursor: ["Invalid cursor."] });
    const forged = Buffer.from(JSON.stringify(["due", "soon", JAN_1.toISOString(), "x"])).toString(
      "base64url",
    );
    const data = await refusal(client.task.list.query({ sort: "due", cursor: forged }));
    expect(data.zodError.fieldErrors).toEqual({ cursor: ["Invalid cursor."] });
  });
});

describe("task.stats with filters", () => {
  it("counts the tasks matching priority and search; without input, all of them", async () => {
    const cases: Omit<Filter, "completed">[] = [
      {},
      { priority: "HIGH" },
      { priority: "MEDIUM" },
      { search: "none" },
      { search: "ERRAND" },
      { priority: "HIGH", search: "errand" },
      { search: "%" },
    ];
    for (const filter of cases) {
      expect(await client.task.stats.query(filter), JSON.stringify(filter)).toEqual(
        model.stats(0, filter),
      );
    }
    expect(await client.task.stats.query()).toEqual({ total: 7, completed: 1, open: 6 });
    expect(await client.task.stats.query({ priority: "MEDIUM" })).toEqual({
      total: 2,
      completed: 1,
      open: 1,
    });
  });

  it("refuses what list refuses, and other keys", async () => {
    for (const input of [{ priority: "URGENT" }, { search: "" }, { completed: true }]) {
      const data = await refusal(client.task.stats.query(input as never));
      expect(data, JSON.stringify(input)).toMatchObject({ code: "BAD_REQUEST" });
    }
  });
});
