import { AsyncLocalStorage } from "node:async_hooks";

/**
 * A request's deadline, carried through everything it awaits, so that each statement the
 * user-scoped client sends gets what is left of it as PostgreSQL's own `statement_timeout`:
 * at the deadline PostgreSQL cancels the statement, and nothing keeps running for a caller who
 * has been answered.
 */
const deadlines = new AsyncLocalStorage<number>();

/** Thrown when an operation would start after its request's deadline. */
export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
}

/** Runs `work` with a deadline `timeoutMs` from now (a nested call may only shorten it). */
export function withDeadline<T>(timeoutMs: number, work: () => T): T {
  const at = performance.now() + timeoutMs;
  const outer = deadlines.getStore();
  return deadlines.run(outer === undefined ? at : Math.min(outer, at), work);
}

/** Milliseconds left before the current deadline; undefined outside `withDeadline`. */
export function timeLeft(): number | undefined {
  const at = deadlines.getStore();
  return at === undefined ? undefined : at - performance.now();
}
