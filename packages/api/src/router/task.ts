import { Priority, type Prisma, type ScopedDb } from "@tasks/db";
import type { TRPCRouterRecord } from "@trpc/server";
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

/**
 * A position in the listing, opaque to callers: the `(createdAt, id)` of the
 * last task of a page. It names no row, so it cannot probe other users' tasks.
 */
const cursor = z
  .string()
  .max(100)
  .transform((value, ctx) => {
    const position = decodeCursor(value);
    if (!position) {
      ctx.addIssue({ code: "custom", message: "Invalid cursor." });
      return z.NEVER;
    }
    return position;
  });

interface Position {
  createdAt: Date;
  id: string;
}

function encodeCursor({ createdAt, id }: Position): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString("base64url");
}

function decodeCursor(value: string): Position | null {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(value, "base64url").toString()) as unknown[];
    const parsed = z
      .tuple([z.iso.datetime().pipe(z.coerce.date()).pipe(instant), z.uuid()])
      .safeParse([createdAt, id]);
    return parsed.success ? { createdAt: parsed.data[0], id: parsed.data[1] } : null;
  } catch {
    return null;
  }
}

/** Tasks after `position` in the newest-first order; `lte` lets the index bound the scan. */
function after({ createdAt, id }: Position): Prisma.TaskWhereInput {
  return {
    createdAt: { lte: createdAt },
    OR: [{ createdAt: { lt: createdAt } }, { id: { lt: id } }],
  };
}

/** The filters and paging of a listing, except `completed` (a filter of `list`, a path of `byStatus`). */
const listFields = {
  priority: priority.optional(),
  /** A literal substring of the title or description, in any case. */
  search: text(200).min(1).optional(),
  limit: count(1, 100).default(20),
  cursor: cursor.optional(),
  // Sent by tRPC's infinite queries; pages only go forward (newest first).
  direction: z.literal("forward").optional(),
};

type ListInput = z.output<z.ZodObject<typeof listFields>> & { completed?: boolean };

/** One page of the caller's tasks, newest first: the one query of `list` and `byStatus`. */
async function listTasks(db: ScopedDb, input: ListInput) {
  const filters: Prisma.TaskWhereInput[] = [];
  if (input.completed !== undefined) filters.push({ completed: input.completed });
  if (input.priority) filters.push({ priority: input.priority });
  if (input.search) {
    const contains = { contains: likeLiteral(input.search), mode: "insensitive" } as const;
    filters.push({ OR: [{ title: contains }, { description: contains }] });
  }
  if (input.cursor) filters.push(after(input.cursor));
  // One extra row tells whether there is a next page.
  const rows = await db.task.findMany({
    where: { AND: filters },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: input.limit + 1,
    select: taskSelect,
  });
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null };
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
    .meta(rest("GET", "/tasks", "List tasks, newest first, a page at a time"))
    .input(z.strictObject({ completed: flag.optional(), ...listFields }).prefault({}))
    .output(TaskPage)
    .query(({ ctx, input }) => listTasks(ctx.db, input)),

  /** `list` with `completed` taken from the path (`open` or `completed`), for REST's status route. */
  byStatus: protectedProcedure
    .meta(rest("GET", "/tasks/status/{status}", "List open or completed tasks"))
    .input(z.strictObject({ status: z.enum(["open", "completed"]), ...listFields }))
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

  stats: protectedProcedure
    .meta(rest("GET", "/stats", "Count the caller's tasks"))
    .output(z.object({ total: z.number(), completed: z.number(), open: z.number() }))
    .query(async ({ ctx }) => {
      const groups = await ctx.db.task.groupBy({ by: ["completed"], _count: { _all: true } });
      const tally = (completed: boolean) =>
        groups.find((group) => group.completed === completed)?._count._all ?? 0;
      const completed = tally(true);
      const open = tally(false);
      return { total: completed + open, completed, open };
    }),
} satisfies TRPCRouterRecord;
