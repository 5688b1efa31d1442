export { createDb, type Database, type DbOptions, type Driver, pickDriver } from "./client.ts";
export { DeadlineExceededError, timeLeft, withDeadline } from "./deadline.ts";
export { type EmbeddedServer, openEmbedded, workspaceRoot } from "./embedded.ts";
export {
  Priority,
  Prisma,
  type PrismaClient,
  type Task,
  type User,
} from "./generated/prisma/client.ts";
export { applyMigrations } from "./migrate.ts";
export { forUser, type ScopedDb, ScopeViolationError } from "./scoped.ts";
export { isDatabaseUnavailable, isTimedOut, taskQuotaReached } from "./unavailable.ts";
