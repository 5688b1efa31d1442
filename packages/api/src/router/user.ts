import type { Prisma } from "@tasks/db";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { notFound } from "../errors.ts";
import { imageUrl, instantOutput, nonBlankText } from "../fields.ts";
import { rest, selectOf } from "../rest-meta.ts";
import { protectedProcedure } from "../trpc.ts";

/** What of a user leaves the server: the result schema, and the select derived from it. */
export const User = z
  .object({
    id: z.string(),
    email: z.string(),
    emailVerified: z.boolean(),
    name: z.string().nullable(),
    image: z.string().nullable(),
    createdAt: instantOutput,
    updatedAt: instantOutput,
  })
  .meta({ id: "User" });

export const userSelect = selectOf(User) satisfies Prisma.UserSelect;

export const userRouter = {
  me: protectedProcedure
    .meta(rest("GET", "/me", "The caller's account"))
    .output(User)
    .query(({ ctx }) =>
      ctx.db.user.findUniqueOrThrow({ where: { id: ctx.userId }, select: userSelect }),
    ),

  update: protectedProcedure
    .meta(rest("PATCH", "/me", "Change the caller's name or image"))
    .input(
      z.strictObject({
        name: nonBlankText(200).nullable().optional(),
        image: imageUrl.nullable().optional(),
      }),
    )
    .output(User)
    .mutation(({ ctx, input }) =>
      ctx.db.user.update({ where: { id: ctx.userId }, data: input, select: userSelect }),
    ),

  /**
   * Deletes the account for good: the database cascades to every task of it,
   * and no token of it is accepted again.
   */
  delete: protectedProcedure
    .meta(rest("DELETE", "/me", "Delete the caller's account and every task of it"))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx }) => {
      if (!(await ctx.deleteAccount())) throw notFound();
      return { id: ctx.userId };
    }),
} satisfies TRPCRouterRecord;
