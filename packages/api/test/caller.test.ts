import { Prisma } from "@tasks/db";
import { useTestDb } from "@tasks/db/testing";
import { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { toApiError } from "../src/errors.ts";
import { createCaller, createInnerContext } from "../src/index.ts";

const testDb = useTestDb();

beforeAll(async () => {
  await testDb.owner.user.createMany({
    data: [
      { id: "server-side", email: "s@example.com" },
      { id: "other", email: "o@example.com" },
    ],
  });
});

describe("createCaller for server-side use", () => {
  it("runs procedures in-process as a given user", async () => {
    const caller = createCaller(createInnerContext({ userId: "server-side", db: testDb.client }));
    const task = await caller.task.create({ title: "from a script" });
    expect((await caller.task.list()).items.map((t) => t.id)).toEqual([task.id]);
    const other = createCaller(createInnerContext({ userId: "other", db: testDb.client }));
    await expect(other.task.byId({ id: task.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses every protected procedure without a user", async () => {
    const anonymous = createCaller({ userId: null, db: null, deleteAccount: null });
    await expect(anonymous.task.list()).rejects.toBeInstanceOf(TRPCError);
    await expect(anonymous.user.me()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("maps database errors in one place", () => {
    const prismaError = (code: string) =>
      new TRPCError({
        code: "INTERNAL_SERVER_ERROR",
        cause: new Prisma.PrismaClientKnownRequestError("SELECT … failed", {
          code,
          clientVersion: "7",
        }),
      });
    expect(toApiError(prismaError("P2025")).code).toBe("NOT_FOUND");
    expect(toApiError(prismaError("P2002")).code).toBe("CONFLICT");
    expect(toApiError(prismaError("P2000")).code).toBe("BAD_REQUEST");
    expect(toApiError(prismaError("P1001")).code).toBe("SERVICE_UNAVAILABLE");
    expect(toApiError(prismaError("P9999")).code).toBe("INTERNAL_SERVER_ERROR");
    expect(toApiError(prismaError("P2002")).message).not.toContain("SELECT");
  });
});
