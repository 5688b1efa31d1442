import { LRUCache } from "lru-cache";
import { Prisma, type PrismaClient } from "./generated/prisma/client.ts";

/**
 * A client that sees and writes only one user's rows.
 *
 * Raw SQL and connection management are not part of it; the runtime refuses
 * them too, for callers that get around the type.
 */
export type ScopedDb = Omit<
  PrismaClient,
  | "$queryRaw"
  | "$executeRaw"
  | "$queryRawUnsafe"
  | "$executeRawUnsafe"
  | "$extends"
  | "$connect"
  | "$disconnect"
  | "$on"
>;

/** Thrown when a query on a scoped client would reach past its user. */
export class ScopeViolationError extends Error {
  override name = "ScopeViolationError";
}

type Args = Record<string, unknown>;
type Where = Record<string, unknown>;

const READS_MANY = new Set([
  "findMany",
  "findFirst",
  "findFirstOrThrow",
  "count",
  "aggregate",
  "groupBy",
]);
const READS_ONE = new Set(["findUnique", "findUniqueOrThrow"]);
const UPDATES_MANY = new Set(["updateMany", "updateManyAndReturn"]);
const CREATES_MANY = new Set(["createMany", "createManyAndReturn"]);

/** The operations each model's scope handles; every other operation is refused. */
export const SCOPED_OPERATIONS = [
  ...READS_MANY,
  ...READS_ONE,
  ...UPDATES_MANY,
  ...CREATES_MANY,
  "create",
  "update",
  "upsert",
  "delete",
  "deleteMany",
] as const;

/** Nested writes on `user.tasks` that stay inside the user's own tasks. */
const OWN_TASK_WRITES = new Set([
  "create",
  "createMany",
  "update",
  "updateMany",
  "upsert",
  "delete",
  "deleteMany",
]);

/** Scoped clients already made, per base client, so a user's next request reuses theirs. */
const scopedClients = new WeakMap<PrismaClient, LRUCache<string, ScopedDb>>();
/** Most scoped clients kept per base client (least recently used first out): a few small objects each. */
const SCOPED_CLIENTS_KEPT = 1_000;

/** Returns `db` restricted to the rows of `userId`: its Task rows and its own User row. */
export function forUser(db: PrismaClient, userId: string): ScopedDb {
  if (typeof userId !== "string" || userId.length === 0) {
    throw new ScopeViolationError("A scoped client needs a non-empty user id.");
  }
  let kept = scopedClients.get(db);
  if (!kept) {
    kept = new LRUCache({ max: SCOPED_CLIENTS_KEPT });
    scopedClients.set(db, kept);
  }
  const known = kept.get(userId);
  if (known) return known;
  // A query extension leaves the client's type unchanged; the explicit type keeps
  // declarations small and drops raw SQL from what callers can even name.
  const scoped = db.$extends(userScope(userId)) as unknown as ScopedDb;
  kept.set(userId, scoped);
  return scoped;
}

function userScope(userId: string) {
  return Prisma.defineExtension({
    name: "user-scope",
    query: {
      async $allOperations({ model, operation, args, query }) {
        if (!model) {
          throw new ScopeViolationError(`${operation} is not available on a user-scoped client.`);
        }
        return query(scopeOperation(model, operation, { ...(args as Args) }, userId));
      },
    },
  });
}

/** How one model is kept to a user's rows. */
interface ModelScope {
  /** The filter that selects the user's rows. */
  owned(userId: string): Where;
  /** Checks and completes the data of a new row. */
  create(data: unknown, userId: string): Args;
  /** Checks the data of an update. */
  update(data: unknown, userId: string): Args;
}

const SCOPES: Record<string, ModelScope> = {
  Task: { owned: (userId) => ({ userId }), create: taskCreate, update: taskUpdate },
  User: { owned: (userId) => ({ id: userId }), create: userCreate, update: userUpdate },
};

/** Rewrites one operation's arguments so that it can only reach the user's rows. */
function scopeOperation(model: string, operation: string, args: Args, userId: string): Args {
  const scope = SCOPES[model];
  if (!scope) throw new ScopeViolationError(`Model ${model} has no user scope.`);
  const owned = scope.owned(userId);
  if (READS_MANY.has(operation) || operation === "deleteMany") {
    return { ...args, where: andWhere(args.where, owned) };
  }
  if (READS_ONE.has(operation) || operation === "delete") {
    return { ...args, where: andUniqueWhere(args.where, owned) };
  }
  if (UPDATES_MANY.has(operation)) {
    return { ...args, where: andWhere(args.where, owned), data: scope.update(args.data, userId) };
  }
  if (operation === "update") {
    return {
      ...args,
      where: andUniqueWhere(args.where, owned),
      data: scope.update(args.data, userId),
    };
  }
  if (operation === "create") return { ...args, data: scope.create(args.data, userId) };
  if (CREATES_MANY.has(operation)) {
    const rows = Array.isArray(args.data) ? args.data : [args.data];
    return { ...args, data: rows.map((row) => scope.create(row, userId)) };
  }
  if (operation === "upsert") {
    return {
      ...args,
      where: andUniqueWhere(args.where, owned),
      create: scope.create(args.create, userId),
      update: scope.update(args.update, userId),
    };
  }
  throw new ScopeViolationError(`${model}.${operation} has no user scope and is refused.`);
}

/** `where AND scope`, for filters that may match many rows. */
function andWhere(where: unknown, scope: Where): Where {
  return where === undefined ? scope : { AND: [where as Where, scope] };
}

/** Keeps the unique fields at the top (Prisma requires them there) and adds the scope beside them. */
function andUniqueWhere(where: unknown, scope: Where): Where {
  const unique = (where ?? {}) as Where;
  const and = unique.AND === undefined ? [] : [unique.AND].flat();
  return { ...unique, AND: [...and, scope] };
}

function record(data: unknown, what: string): Args {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ScopeViolationError(`${what} must be an object.`);
  }
  return data as Args;
}

/** A new task always belongs to the scoped user. */
function taskCreate(data: unknown, userId: string): Args {
  const row = record(data, "Task data");
  if ("user" in row) throw new ScopeViolationError("Task owner is set by the scoped client.");
  if (row.userId !== undefined && row.userId !== userId) {
    throw new ScopeViolationError("Cannot create a task for another user.");
  }
  return { ...row, userId };
}

/** An update may not move a task to another user. */
function taskUpdate(data: unknown, userId: string): Args {
  const row = record(data, "Task data");
  if ("user" in row) throw new ScopeViolationError("Cannot change a task's owner.");
  if (row.userId !== undefined && row.userId !== userId) {
    throw new ScopeViolationError("Cannot move a task to another user.");
  }
  return row;
}

function userCreate(data: unknown, userId: string): Args {
  const row = record(data, "User data");
  if (row.id !== undefined && row.id !== userId) {
    throw new ScopeViolationError("Cannot create another user.");
  }
  checkTaskWrites(row.tasks);
  return { ...row, id: userId };
}

function userUpdate(data: unknown, userId: string): Args {
  const row = record(data, "User data");
  if (row.id !== undefined && row.id !== userId) {
    throw new ScopeViolationError("Cannot change a user's id.");
  }
  checkTaskWrites(row.tasks);
  return row;
}

/**
 * Nested writes through `user.tasks` act on the relation, so they stay inside the
 * user's tasks, except those that attach existing rows (`connect`,
 * `connectOrCreate`, `set`) and could take another user's task.
 */
function checkTaskWrites(tasks: unknown): void {
  if (tasks === undefined) return;
  for (const key of Object.keys(record(tasks, "User tasks"))) {
    if (!OWN_TASK_WRITES.has(key)) {
      throw new ScopeViolationError(`user.tasks.${key} is refused on a user-scoped client.`);
    }
  }
}
