// Model-based: random sequences of operations by several users, through the real HTTP server on
// the real database, against the in-memory model of task-model.ts. No answer ever holds a task the
// caller did not create. After every step, every user's rows in the database equal the model;
// after every change, so does the view (the full listing in each order, and stats) of the user who
// made it; at the end of every sequence, every user's view does. (Every user's view after every
// step would triple the view requests; the rows catch a change that reached another user at the
// step that made it.) Listings paged by their cursors, in each order and with filters, and stats
// with filters, are commands of their own. MODEL_RUNS sets the number of sequences (default 1000).
import { type RouterOutputs, taskSelect } from "@tasks/api";
import { withoutScopeRewriting } from "@tasks/db/testing";
import { TRPCClientError } from "@trpc/client";
import fc from "fast-check";
import superjson from "superjson";
import { beforeAll, describe, expect, it } from "vitest";
import { signToken, type TestApi, useTestApi } from "./support.ts";
import { type Filter, type Priority, SORTS, type Task, TaskModel } from "./task-model.ts";

const runs = Number(process.env.MODEL_RUNS) || 1000;
const USERS = 3;
const MAX_COMMANDS = 8;
const setup = useTestApi("secret");
// The `rls-only` project: what keeps users apart is the database's row-level security alone.
if (process.env.TEST_SCOPE_REWRITING === "off") withoutScopeRewriting();

type Client = ReturnType<TestApi["client"]>;

interface Real {
  users: { sub: string; token: string; client: Client }[];
}

type Command = fc.AsyncCommand<TaskModel, Real>;

// A small alphabet, so that searches find something, with LIKE's wildcards among its letters.
const letter = fc.constantFrom("a", "B", "c", "%", "_", " ");
const title = fc
  .string({ unit: letter, minLength: 1, maxLength: 4 })
  .filter((s) => s.trim() !== "");
const description = fc.option(fc.string({ unit: letter, maxLength: 4 }), { nil: null });
const priority = fc.constantFrom<Priority>("LOW", "MEDIUM", "HIGH");
/** Often one of a few dates, so that the `due` order has ties to break. */
const dueAt = fc.option(
  fc.oneof(
    fc.constantFrom(new Date("2030-01-01T00:00:00.000Z"), new Date("2030-01-02T00:00:00.000Z")),
    fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
  ),
  { nil: null },
);
const sort = fc.constantFrom(...SORTS);
/** The filters `task.stats` takes, and `task.list` with `completed`. */
const filters = {
  priority,
  search: fc.string({ unit: letter, minLength: 1, maxLength: 2 }),
};
const user = fc.nat({ max: USERS - 1 });
/** Which of the ids available when the command runs (they are not known when it is generated). */
const pick = fc.nat();

function picked<T>(items: T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new Error("picked from nothing");
  return item;
}

/** Fails if any of `tasks` is not one the caller created: the one property that must never break. */
function expectOwn(model: TaskModel, caller: number, tasks: { id: string }[]) {
  for (const { id } of tasks) {
    const creator = model.creatorOf(id);
    expect(creator, `user ${caller} was shown task ${id} of user ${creator}`).toBe(caller);
  }
}

async function expectNotFound(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  expect((error as TRPCClientError<never>).data).toMatchObject({ code: "NOT_FOUND" });
}

/** The user's full listing in every order, and stats, equal the model's. */
async function expectView(model: TaskModel, real: Real, user: number) {
  const { listings, stats } = await view(real, user);
  for (const [sort, listing] of listings) {
    expectOwn(model, user, listing.items);
    expect(listing, sort).toEqual({ items: model.tasks(user, sort), nextCursor: null });
  }
  expect(stats).toEqual(model.stats(user));
}

/**
 * `task.list` in each order (one page holds every task of a sequence) and `task.stats` in one
 * batched request, sent by hand: the typed client's batching waits for a timer, which would be
 * most of the time.
 */
async function view(real: Real, user: number) {
  const calls = [
    ...SORTS.map((sort) => ["task.list", { limit: 100, sort }] as const),
    ["task.stats"] as const,
  ];
  const inputs = Object.fromEntries(
    calls.map(([, input], index) => [index, input && superjson.serialize(input)]),
  );
  const paths = calls.map(([path]) => path).join(",");
  const response = await fetch(
    `${setup.api.url}/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`,
    {
      headers: { authorization: `Bearer ${account(real, user).token}` },
    },
  );
  const body = await response.text();
  expect(response.status, body).toBe(200);
  const results = (JSON.parse(body) as { result: { data: never } }[]).map(({ result }) =>
    superjson.deserialize(result.data),
  );
  return {
    listings: SORTS.map(
      (sort, index) => [sort, results[index] as RouterOutputs["task"]["list"]] as const,
    ),
    stats: results.at(-1) as RouterOutputs["task"]["stats"],
  };
}

/**
 * Every user's rows, read from the database in one query, equal the model's: a write that reached
 * the wrong user, or a user it should not have, fails at the step that made it.
 */
async function expectStored(model: TaskModel, real: Real) {
  const rows = await setup.api.db.task.findMany({
    where: { userId: { in: real.users.map(({ sub }) => sub) } },
    // What the API returns of a task, and whose it is.
    select: { ...taskSelect, userId: true },
    orderBy: { id: "asc" },
  });
  const stored = real.users.map(({ sub }) =>
    rows.filter((row) => row.userId === sub).map(({ userId: _, ...task }) => task),
  );
  expect(stored).toEqual(model.stored());
}

/**
 * A command that changes data, or tries to: `apply` runs it on the API and the model and says who
 * acted; then every user's rows and the actor's view must equal the model.
 */
function write<T>(
  name: string,
  args: T,
  apply: (model: TaskModel, real: Real, args: T) => Promise<number>,
  applies: (model: Readonly<TaskModel>, args: T) => boolean = () => true,
): Command {
  return {
    check: (model) => applies(model, args),
    async run(model, real) {
      const actor = await apply(model, real, args);
      await Promise.all([expectStored(model, real), expectView(model, real, actor)]);
    },
    toString: () => `${name}(${fc.stringify(args)})`,
  };
}

/**
 * A command that must change nothing (a read, or an attempt on a task that is not the caller's):
 * `apply` checks its answer; then every user's rows must still equal the model.
 */
function readOnly<T>(
  name: string,
  args: T,
  apply: (model: TaskModel, real: Real, args: T) => Promise<void>,
  applies: (model: Readonly<TaskModel>, args: T) => boolean = () => true,
): Command {
  return {
    check: (model) => applies(model, args),
    async run(model, real) {
      await apply(model, real, args);
      await expectStored(model, real);
    },
    toString: () => `${name}(${fc.stringify(args)})`,
  };
}

/** One to four tasks of one user, created in turn: enough tasks for listings to have pages. */
const create = fc
  .record({
    user,
    inputs: fc.array(
      fc.record({ title, description, priority, dueAt }, { requiredKeys: ["title"] }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map((args) =>
    write("create", args, async (model, real, { user, inputs }) => {
      for (const input of inputs) {
        const task = await client(real, user).task.create.mutate(input);
        expect(model.creatorOf(task.id), "a new id").toBeUndefined();
        expect(task).toMatchObject({
          description: null,
          priority: "MEDIUM",
          dueAt: null,
          completed: false,
          ...input,
        });
        model.put(user, task);
      }
      return user;
    }),
  );

/** Some user's task, picked when the command runs; that user acts on it. */
function pickOwned(model: Readonly<TaskModel>, pick: number) {
  const [owner, id] = picked(model.owned(), pick);
  return { owner, id, task: model.task(owner, id) as Task };
}
const hasTasks = (model: Readonly<TaskModel>) => model.owned().length > 0;

const update = fc
  .record({
    pick,
    patch: fc.record(
      { title, description, completed: fc.boolean(), priority, dueAt },
      { requiredKeys: [] },
    ),
  })
  .map((args) =>
    write(
      "update",
      args,
      async (model, real, { pick, patch }) => {
        const { owner, id, task: before } = pickOwned(model, pick);
        const task = await client(real, owner).task.update.mutate({ id, ...patch });
        // Only the fields sent change, and updatedAt does not go back.
        expect(task).toEqual({ ...before, ...patch, updatedAt: task.updatedAt });
        expect(task.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
        model.put(owner, task);
        return owner;
      },
      hasTasks,
    ),
  );

const remove = fc.record({ pick }).map((args) =>
  write(
    "delete",
    args,
    async (model, real, { pick }) => {
      const { owner, id } = pickOwned(model, pick);
      expect(await client(real, owner).task.delete.mutate({ id })).toEqual({ id });
      model.delete(owner, id);
      return owner;
    },
    hasTasks,
  ),
);

const byId = fc.record({ pick }).map((args) =>
  readOnly(
    "byId",
    args,
    async (model, real, { pick }) => {
      const { owner, id, task } = pickOwned(model, pick);
      const answer = await client(real, owner).task.byId.query({ id });
      expectOwn(model, owner, [answer]);
      expect(answer).toEqual(task);
    },
    hasTasks,
  ),
);

/** Another user's task, or one of the caller's deleted ones: NOT_FOUND, whatever is tried. */
const trespass = fc
  .record({ user, pick, action: fc.constantFrom("byId", "update", "delete") })
  .map((args) =>
    readOnly(
      "trespass",
      args,
      async (model, real, { user, pick, action }) => {
        const id = picked(model.unreachableIds(user), pick);
        const { task } = client(real, user);
        await expectNotFound(
          action === "byId"
            ? task.byId.query({ id })
            : action === "update"
              ? task.update.mutate({ id, title: "taken", completed: true })
              : task.delete.mutate({ id }),
        );
      },
      (model, { user }) => model.unreachableIds(user).length > 0,
    ),
  );

/**
 * Pages through a filtered listing in one of its orders with a small limit, following the cursor
 * to the end: the pages hold exactly the model's tasks in the model's order.
 */
const list = fc
  .record({
    pick,
    // Unfiltered half the time: filters leave few of the few tasks a sequence makes.
    filter: fc.oneof(
      fc.constant({}),
      fc.record({ completed: fc.boolean(), ...filters }, { requiredKeys: [] }),
    ),
    sort,
    /** Which page size from 1 to the number of tasks listed (so that there is more than one page). */
    size: fc.nat(),
  })
  .map((args) =>
    readOnly("list", args, async (model, real, { pick, filter, sort, size }) => {
      // The owner of some task (users with more tasks more often), or anyone when none has any.
      const user = hasTasks(model) ? pickOwned(model, pick).owner : pick % USERS;
      const expected = model.list(user, filter as Filter, sort);
      const limit = 1 + (size % Math.max(1, expected.length));
      const seen: Task[] = [];
      let cursor: string | undefined;
      // One page more than the model needs: a listing that never ends fails here.
      for (let page = 0; page <= Math.ceil(expected.length / limit); page++) {
        const result = await client(real, user).task.list.query({
          ...filter,
          sort,
          limit,
          cursor,
        });
        expectOwn(model, user, result.items);
        expect(result.items.length).toBeLessThanOrEqual(limit);
        seen.push(...result.items);
        if (result.nextCursor === null) break;
        cursor = result.nextCursor;
      }
      expect(seen).toEqual(expected);
    }),
  );

const stats = fc
  .record({ user, filter: fc.option(fc.record(filters, { requiredKeys: [] }), { nil: undefined }) })
  .map((args) =>
    readOnly("stats", args, async (model, real, { user, filter }) => {
      expect(await client(real, user).task.stats.query(filter)).toEqual(model.stats(user, filter));
    }),
  );

/**
 * Deletes the account: its token is refused from then on, and the person signs up again as a
 * new, empty account (a new `sub`, as the identity provider would issue).
 */
const deleteAccount = fc.record({ user }).map((args) =>
  write("deleteAccount", args, async (model, real, { user }) => {
    const deleted = account(real, user);
    expect(await deleted.client.user.delete.mutate()).toEqual({ id: deleted.sub });
    await expect(deleted.client.task.stats.query()).rejects.toMatchObject({
      data: { code: "UNAUTHORIZED" },
    });
    real.users[user] = await signUp(`${deleted.sub.replace(/-\d+$/, "")}-${++accountsMade}`);
    model.deleteAccount(user);
    return user;
  }),
);

function account(real: Real, user: number) {
  const found = real.users[user];
  if (!found) throw new Error(`no user ${user}`);
  return found;
}

function client(real: Real, user: number): Client {
  return account(real, user).client;
}

const commands = fc.commands(
  // create twice: sequences need tasks before most other commands apply.
  [create, create, update, remove, byId, trespass, list, stats, deleteAccount],
  { maxCommands: MAX_COMMANDS },
);

let accountsMade = 0;

async function signUp(sub: string) {
  // Valid for as long as any MODEL_RUNS could take.
  const token = await signToken({ sub, email: `${sub}@example.com` }, { expiresIn: "24h" });
  // One request per call: the typed client's batching waits for a timer.
  return { sub, token, client: setup.api.client(token, { batch: false }) };
}

/**
 * The same accounts in every sequence, emptied before it: cheaper than new ones, whose first
 * requests each insert an account (deleteAccount replaces the one it deletes).
 */
const slots = Array.from({ length: USERS }, (_, index) => index);
let real: Real;
beforeAll(async () => {
  real = { users: await Promise.all(slots.map((index) => signUp(`model-user-${index}-0`))) };
});

async function emptyUsers(): Promise<{ model: TaskModel; real: Real }> {
  const subs = real.users.map(({ sub }) => sub);
  await setup.api.db.task.deleteMany({ where: { userId: { in: subs } } });
  return { model: new TaskModel(USERS), real };
}

describe("random use by several users matches the model", () => {
  it(
    `${runs} sequences of up to ${MAX_COMMANDS} operations`,
    async () => {
      const started = performance.now();
      const cpu = process.cpuUsage();
      await fc.assert(
        fc.asyncProperty(commands, async (sequence) => {
          const users = await emptyUsers();
          await fc.asyncModelRun(() => users, sequence);
          await Promise.all(slots.map((index) => expectView(users.model, users.real, index)));
        }),
        { numRuns: runs },
      );
      const used = process.cpuUsage(cpu);
      const seconds = (performance.now() - started) / 1000;
      // The server runs in this process too: its CPU time is most of this.
      console.log(
        `${runs} sequences in ${seconds.toFixed(1)} s (${((used.user + used.system) / 1e6).toFixed(1)} s of CPU)`,
      );
    },
    runs * 1_000,
  );
});
