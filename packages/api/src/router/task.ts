import { Priority, type Prisma, type ScopedDb } from "@tasks/db";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { notFound } from "../errors.ts";
import {
  bool,
  count,
  flag,
  instant,
  instantInput,
  instantOutput,
  likeLiteral,
  nonBlankText,
  text,
} from "../fields.ts";
import { rest, selectOf } from "../rest-meta.ts";
import { protectedProcedure } from "../trpc.ts";

const taskId = z.uuid();
const title = nonBlankText(200);
const description = text(2000).nullable();
const priority = z.enum(Priority);
const dueAt = instantInput.nullable();

/** What of a task leaves the server: the result schema, and the select derived from it. */
export const Task = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    completed: z.boolean(),
    priority,
    dueAt: instantOutput.nullable(),
    createdAt: instantOutput,
    updatedAt: instantOutput,
  })
  .meta({ id: "Task" });

export const taskSelect = selectOf(Task) satisfies Prisma.TaskSelect;

const TaskPage = z
  .object({
    items: z.array(Task),
    /** Pass as `cursor` for the next page; null on the last one. */
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "TaskPage" });

const DeletedId = z.object({ id: z.string() });

/** The orders of a listing. Each has an index of its own (see the schema) that matches it exactly. */
export const TASK_SORTS = ["created", "due", "priority"] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

/**
 * Priorities from first to last in the `priority` order. PostgreSQL orders an enum by its
 * declaration (LOW, MEDIUM, HIGH), so this order is `priority DESC`.
 */
const HIGH_FIRST = [Priority.HIGH, Priority.MEDIUM, Priority.LOW];

/** Every order ends newest first, so that it is total and an index can serve it. */
const ORDER_BY = {
  created: [{ createdAt: "desc" }, { id: "desc" }],
  due: [{ dueAt: { sort: "asc", nulls: "last" } }, { createdAt: "desc" }, { id: "desc" }],
  priority: [{ priority: "desc" }, { createdAt: "desc" }, { id: "desc" }],
} satisfies Record<TaskSort, Prisma.TaskOrderByWithRelationInput[]>;

/**
 * A position in a listing: its order, and the keys of that order of the last task of a page. It
 * names no row, so it cannot probe other users' tasks, and it outlives the task it came from.
 */
type Position =
  | { sort: "created"; createdAt: Date; id: string }
  | { sort: "due"; dueAt: Date | null; createdAt: Date; id: string }
  | { sort: "priority"; priority: Priority; createdAt: Date; id: string };

const at = z.iso.datetime().pipe(z.coerce.date()).pipe(instant);
/** A cursor's content: `[sort, …keys]`, the keys as the order reads them. */
const encodedPosition = z.union([
  z
    .tuple([z.literal("created"), at, z.uuid()])
    .transform(([sort, createdAt, id]): Position => ({ sort, createdAt, id })),
  z
    .tuple([z.literal("due"), at.nullable(), at, z.uuid()])
    .transform(([sort, dueAt, createdAt, id]): Position => ({ sort, dueAt, createdAt, id })),
  z
    .tuple([z.literal("priority"), priority, at, z.uuid()])
    .transform(([sort, priority, createdAt, id]): Position => ({ sort, priority, createdAt, id })),
  // Issued before listings had orders: newest first.
  z
    .tuple([at, z.uuid()])
    .transform(([createdAt, id]): Position => ({ sort: "created", createdAt, id })),
]);

const INVALID_CURSOR = "Invalid cursor.";

/** The opaque cursor of `list` and `byStatus`: base64url of the position's JSON. */
const cursor = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const position = decodeCursor(value);
    if (!position) {
      ctx.addIssue({ code: "custom", message: INVALID_CURSOR });
      return z.NEVER;
    }
    return position;
  });

interface Keys {
  dueAt: Date | null;
  priority: Priority;
  createdAt: Date;
  id: string;
}

function encodeCursor(sort: TaskSort, { dueAt, priority, createdAt, id }: Keys): string {
  const tail = [createdAt.toISOString(), id];
  const keys =
    sort === "due"
      ? [dueAt?.toISOString() ?? null, ...tail]
      : sort === "priority"
        ? [priority, ...tail]
        : tail;
  return Buffer.from(JSON.stringify([sort, ...keys])).toString("base64url");
}

function decodeCursor(value: string): Position | null {
  try {
    const parsed = encodedPosition.safeParse(
      JSON.parse(Buffer.from(value, "base64url").toString()),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Tasks after `(createdAt, id)` newest first; `lte` lets an index bound the scan. */
function newestAfter({ createdAt, id }: { createdAt: Date; id: string }): Prisma.TaskWhereInput {
  return {
    createdAt: { lte: createdAt },
    OR: [{ createdAt: { lt: createdAt } }, { id: { lt: id } }],
  };
}

/**
 * The tasks after `position` in its order, as parts that follow each other in that order, each
 * a range its index can bound (so a page reads about as many index entries as it returns). A
 * page reads the parts in turn, the next only when the previous ran out.
 */
function after(position: Position): Prisma.TaskWhereInput[] {
  switch (position.sort) {
    case "created":
      return [newestAfter(position)];
    case "due": {
      const { dueAt, createdAt, id } = position;
      // Undated tasks come last: after one, only undated ones follow.
      if (dueAt === null) return [{ dueAt: null, ...newestAfter(position) }];
      // A single OR of the two parts could not bound the scan: NULLs match no range.
      return [
        {
          dueAt: { gte: dueAt },
          OR: [
            { dueAt: { gt: dueAt } },
            { createdAt: { lt: createdAt } },
            { createdAt, id: { lt: id } },
          ],
        },
        { dueAt: null },
      ];
    }
    case "priority": {
      // As the app's role, no comparison of an enum bounds an index scan (PostgreSQL does not
      // mark them leakproof, so row-level security runs them after the policy, as filters);
      // the index still gives the order, and the entries before the position are skipped in it.
      const lower = HIGH_FIRST.slice(HIGH_FIRST.indexOf(position.priority) + 1);
      const same = { priority: position.priority, ...newestAfter(position) };
      return [lower.length > 0 ? { OR: [same, { priority: { in: lower } }] } : same];
    }
  }
}

/** The filters of a listing and of the counts, except `completed`. */
const filterFields = {
  priority: priority.optional(),
  search: text(200)
    .min(1)
    .meta({ description: "A literal substring of the title or description, in any case." })
    .optional(),
};

const SORT_DESCRIPTION =
  "The order: `created` newest first; `due` soonest due first, tasks without a due date last; " +
  "`priority` HIGH, MEDIUM, then LOW. Ties go newest first. A cursor pages only the order it " +
  "came from (another order refuses it as an invalid cursor).";

/** The filters and paging of a listing, except `completed` (a filter of `list`, a path of `byStatus`). */
const listFields = {
  ...filterFields,
  sort: z.enum(TASK_SORTS).default("created").meta({ description: SORT_DESCRIPTION }),
  limit: count(1, 100).default(20),
  cursor: cursor.optional(),
  // Sent by tRPC's infinite queries; pages only go forward.
  direction: z.literal("forward").optional(),
};

/** A cursor is a position in one order: in another it means nothing. */
function cursorOfSort(input: { sort: TaskSort; cursor?: Position }, ctx: z.RefinementCtx) {
  if (input.cursor && input.cursor.sort !== input.sort) {
    ctx.addIssue({ code: "custom", path: ["cursor"], message: INVALID_CURSOR });
  }
}

type Filters = z.output<z.ZodObject<typeof filterFields>> & { completed?: boolean };
type ListInput = z.output<z.ZodObject<typeof listFields>> & Filters;

function where({ completed, priority, search }: Filters): Prisma.TaskWhereInput[] {
  const filters: Prisma.TaskWhereInput[] = [];
  if (completed !== undefined) filters.push({ completed });
  if (priority) filters.push({ priority });
  if (search) {
    const contains = { contains: likeLiteral(search), mode: "insensitive" } as const;
    filters.push({ OR: [{ title: contains }, { description: contains }] });
  }
  return filters;
}

/** One page of the caller's tasks in the order asked: the query of `list` and `byStatus`. */
async function listTasks(db: ScopedDb, input: ListInput) {
  const filters = where(input);
  const parts = input.cursor ? after(input.cursor) : [{}];
  // One extra row tells whether there is a next page.
  const rows: z.output<typeof Task>[] = [];
  for (const part of parts) {
    const wanted = input.limit + 1 - rows.length;
    if (wanted <= 0) break;
    // A task changed between two parts' statements may have moved into the next part.
    const seen = rows.length > 0 ? [{ id: { notIn: rows.map((row) => row.id) } }] : [];
    rows.push(
      ...(await db.task.findMany({
        where: { AND: [...filters, part, ...seen] },
        orderBy: ORDER_BY[input.sort],
        take: wanted,
        select: taskSelect,
      })),
    );
  }
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? encodeCursor(input.sort, last) : null,
  };
}

const updateInput = z.strictObject({
  id: taskId,
  title: title.optional(),
  description: description.optional(),
  completed: bool.optional(),
  priority: priority.optional(),
  dueAt: dueAt.optional(),
});

/** `update`, and its PUT twin: the same input, result and query under two REST methods. */
const updateTask = protectedProcedure.input(updateInput).output(Task);
const applyUpdate = ({
  ctx,
  input: { id, ...data },
}: {
  ctx: { db: ScopedDb };
  input: z.output<typeof updateInput>;
}) => ctx.db.task.update({ where: { id }, data, select: taskSelect });

export const taskRouter = {
  list: protectedProcedure
    .meta(rest("GET", "/tasks", "List tasks in the order asked, a page at a time"))
    .input(
      z
        .strictObject({ completed: flag.optional(), ...listFields })
        .superRefine(cursorOfSort)
        .prefault({}),
    )
    .output(TaskPage)
    .query(({ ctx, input }) => listTasks(ctx.db, input)),

  /** `list` with `completed` taken from the path (`open` or `completed`), for REST's status route. */
  byStatus: protectedProcedure
    .meta(rest("GET", "/tasks/status/{status}", "List open or completed tasks"))
    .input(
      z
        .strictObject({ status: z.enum(["open", "completed"]), ...listFields })
        .superRefine(cursorOfSort),
    )
    .output(TaskPage)
    .query(({ ctx, input: { status, ...input } }) =>
      listTasks(ctx.db, { ...input, completed: status === "completed" }),
    ),

  byId: protectedProcedure
    .meta(rest("GET", "/tasks/{id}", "Get a task"))
    .input(z.strictObject({ id: taskId }))
    .output(Task)
    .query(async ({ ctx, input }) => {
      const task = await ctx.db.task.findUnique({ where: { id: input.id }, select: taskSelect });
      if (!task) throw notFound();
      return task;
    }),

  create: protectedProcedure
    .meta(rest("POST", "/tasks", "Create a task"))
    .input(
      z.strictObject({
        title,
        description: description.optional(),
        priority: priority.optional(),
        dueAt: dueAt.optional(),
      }),
    )
    .output(Task)
    .mutation(({ ctx, input }) =>
      ctx.db.task.create({ data: { ...input, userId: ctx.userId }, select: taskSelect }),
    ),

  update: updateTask
    .meta(rest("PATCH", "/tasks/{id}", "Change the fields given; the others stay"))
    .mutation(applyUpdate),

  /** The old contract's PUT: the same as `update` (fields not given stay as they are). */
  put: updateTask
    .meta(
      rest("PUT", "/tasks/{id}", "Same as PATCH", {
        description: "Kept for clients of the old contract: changes the fields given, like PATCH.",
      }),
    )
    .mutation(applyUpdate),

  delete: protectedProcedure
    .meta(rest("DELETE", "/tasks/{id}", "Delete a task"))
    .input(z.strictObject({ id: taskId }))
    .output(DeletedId)
    .mutation(({ ctx, input }) =>
      ctx.db.task.delete({ where: { id: input.id }, select: { id: true } }),
    ),

  /**
   * The caller's changes as they are committed, over server-sent events (httpSubscriptionLink),
   * each tracked with its number: a client that reconnects with its last event id gets every
   * change it missed, or `refetch` when that is too far back.
   */
  changes: protectedProcedure
    .input(z.strictObject({ lastEventId: z.string().max(32).nullish() }).prefault({}))
    .subscription(async function* ({ ctx, input, signal }) {
      if (!ctx.live) {
        throw new TRPCError({
          code: "METHOD_NOT_SUPPORTED",
          message: "Live updates are off here.",
        });
      }
      yield* ctx.live.follow(ctx.userId, input.lastEventId, signal, ctx.tokenExpiresAt);
    }),

  /** The counts of the caller's tasks that match the filters (all of them without). */
  stats: protectedProcedure
    .meta(rest("GET", "/stats", "Count the caller's tasks, of those matching the filters"))
    .input(z.strictObject(filterFields).prefault({}))
    .output(z.object({ total: z.number(), completed: z.number(), open: z.number() }))
    .query(async ({ ctx, input }) => {
      const groups = await ctx.db.task.groupBy({
        by: ["completed"],
        where: { AND: where(input) },
        _count: { _all: true },
      });
      const tally = (completed: boolean) =>
        groups.find((group) => group.completed === completed)?._count._all ?? 0;
      const completed = tally(true);
      const open = tally(false);
      return { total: completed + open, completed, open };
    }),
} satisfies TRPCRouterRecord;
