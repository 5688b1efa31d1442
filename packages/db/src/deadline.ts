import { AsyncLocalStorage } from "node:async_hooks";

/**
 * A request's deadline, carried through everything it awaits: the user-scoped client starts no
 * statement after it. The statement under way is bounded by PostgreSQL's own `statement_timeout`
 * (the database's default, set by the migrations), which cancels it in the server.
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

/**
 * Runs `work` with a deadline `timeoutMs` from now, whatever deadline it is called under: for
 * work that outlives the request that started it (the reads of a live stream).
 */
export function withOwnDeadline<T>(timeoutMs: number, work: () => T): T {
  return deadlines.run(performance.now() + timeoutMs, work);
}

/** Milliseconds left before the current deadline; undefined outside `withDeadline`. */
export function timeLeft(): number | undefined {
  const at = deadlines.getStore();
  return at === undefined ? undefined : at - performance.now();
}

/** Throws DeadlineExceededError when the current deadline has passed. */
export function checkDeadline(): void {
  const left = timeLeft();
  if (left !== undefined && left < 1) {
    throw new DeadlineExceededError("The request's deadline passed before this query.");
  }
}
