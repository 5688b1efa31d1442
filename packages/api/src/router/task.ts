import { Priority, type Prisma } from "@tasks/db";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { notFound } from "../errors.ts";
import { instant, likeLiteral, nonBlankText, text } from "../fields.ts";
import { protectedProcedure } from "../trpc.ts";

/** What of a task leaves the server. */
export const taskSelect = {
  id: true,
  title: true,
  description: true,
  completed: true,
  priority: true,
  dueAt: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.TaskSelect;

const taskId = z.uuid();
const title = nonBlankText(200);
const description = text(2000).nullable();
const priority = z.enum(Priority);
const dueAt = instant.nullable();

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

export const taskRouter = {
  list: protectedProcedure
    .input(
      z
        .strictObject({
          completed: z.boolean().optional(),
          priority: priority.optional(),
          /** A literal substring of the title or description, in any case. */
          search: text(200).min(1).optional(),
          limit: z.number().int().min(1).max(100).default(20),
          cursor: cursor.optional(),
          // Sent by tRPC's infinite queries; pages only go forward (newest first).
          direction: z.literal("forward").optional(),
        })
        .prefault({}),
    )
    .query(async ({ ctx, input }) => {
      const filters: Prisma.TaskWhereInput[] = [];
      if (input.completed !== undefined) filters.push({ completed: input.completed });
      if (input.priority) filters.push({ priority: input.priority });
      if (input.search) {
        const contains = { contains: likeLiteral(input.search), mode: "insensitive" } as const;
        filters.push({ OR: [{ title: contains }, { description: contains }] });
      }
      if (input.cursor) filters.push(after(input.cursor));
      // One extra row tells whether there is a next page.
      const rows = await ctx.db.task.findMany({
        where: { AND: filters },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: input.limit + 1,
        select: taskSelect,
      });
      const items = rows.slice(0, input.limit);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null };
    }),

  byId: protectedProcedure.input(z.strictObject({ id: taskId })).query(async ({ ctx, input }) => {
    const task = await ctx.db.task.findUnique({ where: { id: input.id }, select: taskSelect });
    if (!task) throw notFound();
    return task;
  }),

  create: protectedProcedure
    .input(
      z.strictObject({
        title,
        description: description.optional(),
        priority: priority.optional(),
        dueAt: dueAt.optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.db.task.create({ data: { ...input, userId: ctx.userId }, select: taskSelect }),
    ),

  update: protectedProcedure
    .input(
      z.strictObject({
        id: taskId,
        title: title.optional(),
        description: description.optional(),
        completed: z.boolean().optional(),
        priority: priority.optional(),
        dueAt: dueAt.optional(),
      }),
    )
    .mutation(({ ctx, input: { id, ...data } }) =>
      ctx.db.task.update({ where: { id }, data, select: taskSelect }),
    ),

  delete: protectedProcedure
    .input(z.strictObject({ id: taskId }))
    .mutation(({ ctx, input }) =>
      ctx.db.task.delete({ where: { id: input.id }, select: { id: true } }),
    ),

  stats: protectedProcedure.query(async ({ ctx }) => {
    const groups = await ctx.db.task.groupBy({ by: ["completed"], _count: { _all: true } });
    const count = (completed: boolean) =>
      groups.find((group) => group.completed === completed)?._count._all ?? 0;
    const completed = count(true);
    const open = count(false);
    return { total: completed + open, completed, open };
  }),
} satisfies TRPCRouterRecord;
