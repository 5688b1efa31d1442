export {
  CHANGES_CHANNEL,
  type ChangeListener,
  type ChangeListenerOptions,
  type ChangeNotice,
  type ListenConnection,
  type LoggedChange,
  latestChange,
  listenForChanges,
  parseNotice,
  readChanges,
} from "./changes.ts";
export {
  APP_ROLE,
  appRoleUrl,
  checkRowSecurity,
  createDb,
  type Database,
  type DbOptions,
  type Driver,
  neonDirectUrl,
  pickDriver,
  RowSecurityError,
  type RowSecurityMode,
} from "./client.ts";
export { DeadlineExceededError, timeLeft, withDeadline, withOwnDeadline } from "./deadline.ts";
export { type EmbeddedServer, openEmbedded, workspaceRoot } from "./embedded.ts";
export {
  type ChangeKind,
  Priority,
  Prisma,
  type PrismaClient,
  type Task,
  type User,
} from "./generated/prisma/client.ts";
export { applyMigrations } from "./migrate.ts";
export { forUser, type ScopedDb, ScopeViolationError } from "./scoped.ts";
export { isDatabaseUnavailable, isTimedOut, taskQuotaReached } from "./unavailable.ts";
