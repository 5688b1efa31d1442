import type { Prisma } from "@tasks/db";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { notFound } from "../errors.ts";
import { imageUrl, nonBlankText } from "../fields.ts";
import { protectedProcedure } from "../trpc.ts";

/** What of a user leaves the server. */
export const userSelect = {
  id: true,
  email: true,
  emailVerified: true,
  name: true,
  image: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.UserSelect;

export const userRouter = {
  me: protectedProcedure.query(({ ctx }) =>
    ctx.db.user.findUniqueOrThrow({ where: { id: ctx.userId }, select: userSelect }),
  ),

  update: protectedProcedure
    .input(
      z.strictObject({
        name: nonBlankText(200).nullable().optional(),
        image: imageUrl.nullable().optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.db.user.update({ where: { id: ctx.userId }, data: input, select: userSelect }),
    ),

  /**
   * Deletes the account for good: the database cascades to every task of it,
   * and no token of it is accepted again.
   */
  delete: protectedProcedure.mutation(async ({ ctx }) => {
    if (!(await ctx.deleteAccount())) throw notFound();
    return { id: ctx.userId };
  }),
} satisfies TRPCRouterRecord;
