import { LRUCache } from "lru-cache";
import { checkDeadline } from "./deadline.ts";
import { Prisma, type PrismaClient } from "./generated/prisma/client.ts";
import { asNoRowOwner, asRowOwner } from "./row-security.ts";

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

/** What a call returns of the rows it reaches; `select` and `include` may also read relations. */
const SHAPING = ["select", "include", "omit"] as const;
/** A listing: which rows, in which order, from where. */
const LISTING = ["where", "orderBy", "cursor", "take", "skip", "distinct"] as const;
const AGGREGATES = ["_count", "_min", "_max"] as const;

/** The arguments of each operation, as the generated client declares them for Task. */
const OPERATION_ARGUMENTS: Readonly<Record<string, ReadonlySet<string>>> = {
  findMany: new Set([...SHAPING, ...LISTING]),
  findFirst: new Set([...SHAPING, ...LISTING]),
  findFirstOrThrow: new Set([...SHAPING, ...LISTING]),
  findUnique: new Set([...SHAPING, "where"]),
  findUniqueOrThrow: new Set([...SHAPING, "where"]),
  count: new Set(["where", "orderBy", "cursor", "take", "skip", "select"]),
  aggregate: new Set(["where", "orderBy", "cursor", "take", "skip", ...AGGREGATES]),
  groupBy: new Set(["where", "orderBy", "by", "having", "take", "skip", ...AGGREGATES]),
  create: new Set([...SHAPING, "data"]),
  createMany: new Set(["data", "skipDuplicates"]),
  createManyAndReturn: new Set([...SHAPING, "data", "skipDuplicates"]),
  update: new Set([...SHAPING, "where", "data"]),
  updateMany: new Set(["where", "data", "limit"]),
  updateManyAndReturn: new Set([...SHAPING, "where", "data", "limit"]),
  upsert: new Set([...SHAPING, "where", "create", "update"]),
  delete: new Set([...SHAPING, "where"]),
  deleteMany: new Set(["where", "limit"]),
};

/**
 * The arguments of each operation the scope handles, per model, as the generated
 * client declares them (the test compares the two). Any other argument is
 * refused, so one that a Prisma upgrade adds is refused until it is handled here.
 */
export const SCOPED_ARGUMENTS: Readonly<
  Record<string, Readonly<Record<string, ReadonlySet<string>>>>
> = {
  Task: OPERATION_ARGUMENTS,
  // Bulk writes that return rows include only relations to one row, and User has none.
  // A user has a number (its task count), so its aggregates also sum and average.
  User: {
    ...OPERATION_ARGUMENTS,
    aggregate: new Set([...(OPERATION_ARGUMENTS.aggregate ?? []), "_avg", "_sum"]),
    groupBy: new Set([...(OPERATION_ARGUMENTS.groupBy ?? []), "_avg", "_sum"]),
    createManyAndReturn: new Set(["select", "omit", "data", "skipDuplicates"]),
    updateManyAndReturn: new Set(["select", "omit", "where", "data", "limit"]),
  },
};

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
export const SCOPED_OPERATIONS = Object.keys(OPERATION_ARGUMENTS);

/** A relation read through `select` or `include`. */
interface Relation {
  /** The model (or Prisma's relation-count type) it leads to. */
  model: string;
  /** The arguments it takes there. */
  arguments: ReadonlySet<string>;
}

/**
 * Every relation that `select` and `include` can read, per model. Each links a
 * user's row only to rows of the same user (a task's `user` is its owner, a
 * user's `tasks` are theirs), so filters and orderings through relations, in
 * `where`, `orderBy` or a relation's own arguments, stay inside the user's rows
 * as they are. A cursor is the exception: Prisma looks its row up by the cursor
 * alone, wherever it appears.
 */
export const SCOPED_RELATIONS: Readonly<Record<string, Readonly<Record<string, Relation>>>> = {
  Task: { user: { model: "User", arguments: new Set(SHAPING) } },
  User: {
    tasks: { model: "Task", arguments: new Set([...SHAPING, ...LISTING]) },
    _count: { model: "UserCountOutputType", arguments: new Set(["select"]) },
  },
  // `_count: { select: { tasks: { where } } }` counts the user's tasks that match.
  UserCountOutputType: { tasks: { model: "Task", arguments: new Set(["where"]) } },
};

/** The same, as lists, for the walk over a selection. */
const RELATIONS_OF = new Map(
  Object.entries(SCOPED_RELATIONS).map(([model, relations]) => [model, Object.entries(relations)]),
);

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

/**
 * Whether scoped clients rewrite each operation's arguments (its filter ANDed with the user, its
 * data checked). Only a test turns this off, to prove that the database's row-level security
 * alone keeps users apart (see `withoutScopeRewriting` in testing.ts).
 */
export const scopeRewriting = { enabled: true };

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
  const extended = db.$extends(userScope(userId)) as unknown as ScopedDb;
  const scoped = withUserTransactions(extended, db, userId);
  kept.set(userId, scoped);
  return scoped;
}

/** The `app.user_id` setting, as a batch transaction's first statement. */
function userSetting(db: PrismaClient, userId: string) {
  return db.$executeRaw`SELECT set_config('app.user_id', ${userId}, true)`;
}

/**
 * A transaction carries its user from its start (see row-security.ts): the interactive form
 * begins as the user and runs its callback as no one, so that what the callback starts outside
 * the transaction is not the user's by accident; the batch form sets the user first.
 */
function withUserTransactions(scoped: ScopedDb, db: PrismaClient, userId: string): ScopedDb {
  const transaction = (input: unknown, options?: unknown) => {
    if (Array.isArray(input)) {
      return db
        .$transaction([userSetting(db, userId), ...input], options as never)
        .then((results) => results.slice(1));
    }
    if (typeof input !== "function") {
      throw new ScopeViolationError("$transaction takes an array of operations or a function.");
    }
    const run = (tx: unknown) => asNoRowOwner(() => input(tx));
    return asRowOwner(userId, async () => await scoped.$transaction(run, options as never));
  };
  return new Proxy(scoped, {
    get: (target, key, receiver) =>
      key === "$transaction" ? transaction : Reflect.get(target, key, receiver),
  });
}

/** Prisma's description of the request an operation makes (its action, its transaction, …). */
function internalParams(params: unknown): { transaction?: unknown } {
  const internal = (params as { __internalParams?: { transaction?: unknown } }).__internalParams;
  if (!internal)
    throw new ScopeViolationError("This Prisma Client does not describe its requests.");
  return internal;
}

/** Whether an operation runs in a transaction (which carries its own user). */
function inTransaction(params: unknown): boolean {
  return internalParams(params).transaction !== undefined;
}

/** Prisma batches the `findUnique` calls of one tick into one statement, whoever made them. */
const UNBATCHED: Readonly<Record<string, string>> = {
  findUnique: "findFirst",
  findUniqueOrThrow: "findFirstOrThrow",
};

function userScope(userId: string) {
  return Prisma.defineExtension({
    name: "user-scope",
    query: {
      async $allOperations(params) {
        const { model, operation, args, query } = params;
        if (!model) {
          throw new ScopeViolationError(`${operation} is not available on a user-scoped client.`);
        }
        // Past the request's deadline, no new statement starts (PostgreSQL's statement_timeout
        // bounds the one that runs).
        checkDeadline();
        const scoped = scopeRewriting.enabled
          ? scopeOperation(model, operation, { ...(args as Args) }, userId)
          : (args as Args);
        if (inTransaction(params)) return query(scoped);
        // Every statement the operation starts carries the user, for row-level security. A
        // findUnique goes as the findFirst it equals, which Prisma never batches with others'.
        const unbatched = UNBATCHED[operation];
        if (unbatched) {
          // Prisma's own request, as the other operation (keeping what the fluent API asked).
          const request = { ...internalParams(params), action: unbatched };
          const run = query as unknown as (args: Args, request: object) => Promise<unknown>;
          return asRowOwner(userId, async () => await run(scoped, request));
        }
        return asRowOwner(userId, async () => await query(scoped));
      },
    },
  });
}

/** How one model is kept to a user's rows. */
interface ModelScope {
  /** The field that holds a row's user. */
  owner: string;
  /** The filter that selects the user's rows. */
  owned(userId: string): Where;
  /** Checks and completes the data of a new row. */
  create(data: unknown, userId: string): Args;
  /** Checks the data of an update. */
  update(data: unknown, userId: string): Args;
}

const SCOPES: Record<string, ModelScope> = {
  Task: {
    owner: "userId",
    owned: (userId) => ({ userId }),
    create: taskCreate,
    update: taskUpdate,
  },
  User: {
    owner: "id",
    owned: (userId) => ({ id: userId }),
    create: userCreate,
    update: userUpdate,
  },
};

/** Rewrites one operation's arguments so that it can only reach the user's rows. */
function scopeOperation(model: string, operation: string, args: Args, userId: string): Args {
  const scope = SCOPES[model];
  if (!scope) throw new ScopeViolationError(`Model ${model} has no user scope.`);
  const accepted = SCOPED_ARGUMENTS[model]?.[operation];
  if (!accepted) {
    throw new ScopeViolationError(`${model}.${operation} has no user scope and is refused.`);
  }
  checkArguments(args, accepted, model, operation);
  const scoped = scopeRows(scope, operation, args, userId);
  if (scoped.cursor !== undefined) scoped.cursor = ownCursor(scoped.cursor, scope.owner, userId);
  return scopeRelations(model, scoped, userId);
}

/** The operation's rows: its filter ANDed with the user, its data checked. Returns a new object. */
function scopeRows(scope: ModelScope, operation: string, args: Args, userId: string): Args {
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
  throw new ScopeViolationError(`${operation} has no user scope and is refused.`);
}

/** Refuses any argument not in `accepted` (`model.name` says where). */
function checkArguments(args: Args, accepted: ReadonlySet<string>, model: string, name: string) {
  for (const key in args) {
    if (args[key] !== undefined && !accepted.has(key)) {
      throw new ScopeViolationError(
        `${model}.${name} does not take \`${key}\` on a user-scoped client.`,
      );
    }
  }
}

/**
 * Prisma finds a cursor's row by the cursor alone, not through `where`, so a
 * cursor on another user's row would position the user's listing against it.
 * The query compiler takes only plain field values in a cursor (no AND, no
 * filters), so the owner goes in as one more field.
 */
function ownCursor(cursor: unknown, owner: string, userId: string): Args {
  const unique = record(cursor, "A cursor");
  const value = unique[owner];
  if (value === undefined) return { ...unique, [owner]: userId };
  if (value === userId) return unique;
  throw new ScopeViolationError(
    `A cursor on a user-scoped client points at the user's own rows only: its \`${owner}\` must be the user's.`,
  );
}

/**
 * Checks the arguments of the relations that `select` and `include` read, and
 * scopes their cursors. Only relations given as objects are walked: `true` or a
 * scalar field costs one lookup per relation. Returns `args` itself, or a copy
 * where something changed.
 */
function scopeRelations(model: string, args: Args, userId: string): Args {
  const select = scopeSelection(model, args.select, userId);
  const include = scopeSelection(model, args.include, userId);
  if (select === args.select && include === args.include) return args;
  const scoped = { ...args };
  if (select !== args.select) scoped.select = select;
  if (include !== args.include) scoped.include = include;
  return scoped;
}

/** One `select` or `include`: itself if it reads no relation with arguments, else a scoped copy. */
function scopeSelection(model: string, selection: unknown, userId: string): unknown {
  if (selection === null || typeof selection !== "object") return selection;
  const relations = RELATIONS_OF.get(model);
  if (!relations) return selection;
  let copy: Args | undefined;
  for (const [name, relation] of relations) {
    const nested = (selection as Args)[name];
    if (nested === null || typeof nested !== "object") continue;
    copy ??= { ...(selection as Args) };
    copy[name] = scopeRelation(model, name, relation, nested as Args, userId);
  }
  return copy ?? selection;
}

function scopeRelation(
  model: string,
  name: string,
  relation: Relation,
  args: Args,
  userId: string,
): Args {
  checkArguments(args, relation.arguments, model, name);
  let scoped = args;
  if (args.cursor !== undefined) {
    const owner = SCOPES[relation.model]?.owner;
    if (!owner) {
      throw new ScopeViolationError(`${model}.${name} takes no cursor on a user-scoped client.`);
    }
    scoped = { ...args, cursor: ownCursor(args.cursor, owner, userId) };
  }
  return scopeRelations(relation.model, scoped, userId);
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

/** The database keeps a user's task count and change number (triggers on `tasks`); no client writes them. */
function checkTaskCount(row: Args): void {
  if ("taskCount" in row) throw new ScopeViolationError("A user's task count is not writable.");
  if ("lastChange" in row) throw new ScopeViolationError("A user's change number is not writable.");
}

function userCreate(data: unknown, userId: string): Args {
  const row = record(data, "User data");
  checkTaskCount(row);
  if (row.id !== undefined && row.id !== userId) {
    throw new ScopeViolationError("Cannot create another user.");
  }
  checkTaskWrites(row.tasks);
  return { ...row, id: userId };
}

function userUpdate(data: unknown, userId: string): Args {
  const row = record(data, "User data");
  checkTaskCount(row);
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
