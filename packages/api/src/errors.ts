import {
  isDatabaseUnavailable,
  isTimedOut,
  Prisma,
  ScopeViolationError,
  taskQuotaReached,
} from "@tasks/db";
import { TRPCError } from "@trpc/server";

/** The one answer for a row that is missing or someone else's: the two must look the same. */
export const notFound = () => new TRPCError({ code: "NOT_FOUND", message: "Not found." });

/** Prisma's error codes as API errors: the one place where database failures get their meaning. */
const PRISMA_CODES: Record<string, { code: TRPCError["code"]; message: string }> = {
  P2025: { code: "NOT_FOUND", message: "Not found." },
  P2002: { code: "CONFLICT", message: "This already exists." },
  P2003: { code: "CONFLICT", message: "A record this refers to does not exist." },
  P2000: { code: "BAD_REQUEST", message: "A value is too long." },
};

const DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly.";
const TIMED_OUT = "The request took longer than the server allows; try again shortly.";

/** Turns an error from a resolver into the error the caller sees. */
export function toApiError(error: TRPCError): TRPCError {
  const cause = error.cause;
  if (isTimedOut(cause)) {
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: TIMED_OUT, cause });
  }
  const quota = taskQuotaReached(cause);
  if (quota !== undefined) {
    const message = `This account holds its limit of ${quota} tasks; delete some to add more.`;
    return new TRPCError({ code: "FORBIDDEN", message, cause });
  }
  if (isDatabaseUnavailable(cause)) {
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: DATABASE_UNAVAILABLE, cause });
  }
  if (cause instanceof Prisma.PrismaClientKnownRequestError) {
    const mapped = PRISMA_CODES[cause.code];
    if (mapped) return new TRPCError({ ...mapped, cause });
  }
  if (cause instanceof ScopeViolationError) {
    // A procedure asked for another user's rows: a bug, never the caller's doing.
    return new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause });
  }
  return error;
}
