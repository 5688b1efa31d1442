import { forUser, type PrismaClient, type ScopedDb } from "@tasks/db";
import { initTRPC, TRPCError } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import { ZodError, z } from "zod";
import { AccountError, type Accounts, deleteAccount } from "./accounts.ts";
import { bearerToken, InvalidTokenError, KeysUnavailableError, type VerifyToken } from "./auth.ts";
import { toApiError } from "./errors.ts";
import type { LiveChanges } from "./live.ts";
import { REST_PREFIX } from "./rest-meta.ts";
import { traceProcedure } from "./telemetry.ts";
import { transformer } from "./transformer.ts";

/**
 * What every procedure sees. `userId` and `db` are set together, only after the
 * request's token has been verified; `db` is then the client scoped to that user.
 */
export interface Context {
  userId: string | null;
  db: ScopedDb | null;
  /** Deletes the signed-in user's account for good; false when it was already gone. */
  deleteAccount: (() => Promise<boolean>) | null;
  /** Why the request is not signed in, when it tried to be. */
  authError?: TRPCError;
  /** When the request's token expires (ms since the epoch): its live stream ends then. */
  tokenExpiresAt?: number;
  /** The process's live streams; null where none are served. */
  live?: LiveChanges | null;
}

/** The context for a known user: for tests and for server-side callers (scripts, server components). */
export function createInnerContext({
  userId,
  db,
  live = null,
}: {
  userId: string;
  db: PrismaClient;
  live?: LiveChanges | null;
}): Context {
  return { userId, db: forUser(db, userId), deleteAccount: () => deleteAccount(db, userId), live };
}

export interface ContextDeps {
  db: PrismaClient;
  verifyToken: VerifyToken;
  accounts: Accounts;
  live?: LiveChanges | null;
}

/** Builds the context of a request from its `Authorization` header. */
export function createContextFactory({ db, verifyToken, accounts, live = null }: ContextDeps) {
  return async ({ authorization }: { authorization?: string }): Promise<Context> => {
    const signedOut = (authError?: TRPCError): Context => ({
      userId: null,
      db: null,
      deleteAccount: null,
      authError,
      live,
    });
    if (authorization === undefined) return signedOut();
    const token = bearerToken(authorization);
    if (!token) {
      return signedOut(unauthorized("The Authorization header must be 'Bearer <token>'."));
    }
    try {
      const identity = await verifyToken(token);
      await accounts.ensure(identity);
      return {
        ...createInnerContext({ userId: identity.userId, db, live }),
        tokenExpiresAt: identity.expiresAt,
        deleteAccount: () => accounts.delete(identity.userId),
      };
    } catch (error) {
      if (error instanceof InvalidTokenError) return signedOut(unauthorized(error.message));
      if (error instanceof KeysUnavailableError) {
        const message = "Sign-in cannot be checked right now; try again shortly.";
        return signedOut(new TRPCError({ code: "SERVICE_UNAVAILABLE", message, cause: error }));
      }
      if (error instanceof AccountError) {
        const code = error.reason === "EMAIL_TAKEN" ? "CONFLICT" : "UNAUTHORIZED";
        return signedOut(new TRPCError({ code, message: error.message }));
      }
      // E.g. the database is down while a new user is provisioned: answer as a procedure would.
      return signedOut(toApiError(new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause: error })));
    }
  };
}

function unauthorized(message: string) {
  return new TRPCError({ code: "UNAUTHORIZED", message });
}

const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    transformer,
    // Live streams (server-sent events): a comment every 15 s keeps proxies from cutting an idle
    // one, and a client that hears nothing for 45 s reconnects (resuming from its last event).
    sse: {
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 45_000 },
    },
    errorFormatter({ shape, error }) {
      const { stack: _stack, ...data } = shape.data;
      const invalidInput = error.cause instanceof ZodError ? error.cause : null;
      return {
        ...shape,
        message: publicMessage(error, invalidInput),
        data: { ...data, zodError: invalidInput ? z.flattenError(invalidInput) : null },
      };
    },
  });

function publicMessage(error: TRPCError, invalidInput: ZodError | null): string {
  // Internal messages can carry SQL or driver details: callers get none of it.
  if (error.code === "INTERNAL_SERVER_ERROR") return "Internal server error.";
  if (invalidInput) return "Invalid input.";
  return error.message;
}

export const createCallerFactory = t.createCallerFactory;
export const router = t.router;

/** Each call is a span of its own, with its duration and result code recorded. */
const observed = t.middleware(({ path, type, meta, next }) =>
  traceProcedure(
    { path, type, restRoute: meta?.openapi && `${REST_PREFIX}${meta.openapi.path}` },
    () => next(),
  ),
);

/** Every procedure's errors pass through the one mapping of database errors. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toApiError(result.error);
  return result;
});

/** Touches no data: it has no database client. */
export const publicProcedure = t.procedure.use(observed).use(mapErrors);

/** Needs a verified user; narrows `ctx.userId` to a string and `ctx.db` to that user's client. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.userId === null || ctx.db === null || ctx.deleteAccount === null) {
    throw ctx.authError ?? unauthorized("Sign in with a Bearer token.");
  }
  return next({
    ctx: { ...ctx, userId: ctx.userId, db: ctx.db, deleteAccount: ctx.deleteAccount },
  });
});
