import { type Database, listenForChanges } from "@tasks/db";
import { createLiveChanges, type LiveChanges, type LiveLimits } from "./live.ts";

export interface LiveServiceOptions extends LiveLimits {
  /** How long the changes log keeps a change: a stream may resume from this far back (ms). */
  retentionMs: number;
  /** The listening connection failed; it retries in `retryInMs`. */
  onListenerFailure?(reason: string, retryInMs: number): void;
  /** Listening (again). */
  onListening?(): void;
  /** Pruning the log failed (it is tried again a minute later). */
  onPruneFailure?(reason: string): void;
}

export interface LiveService {
  live: LiveChanges;
  /** Resolves once the process listens for changes. */
  ready: Promise<void>;
  /** Ends every stream (clients reconnect, elsewhere or later), then stops listening. */
  close(): Promise<void>;
}

/** How often each process prunes the changes log. */
const PRUNE_EVERY_MS = 60_000;

/**
 * The live streams of one process: its LISTEN connection waking them, and the pruning of the
 * changes log to the retention window.
 */
export function startLiveChanges(database: Database, options: LiveServiceOptions): LiveService {
  const live = createLiveChanges(database.client, options);
  const listener = listenForChanges({
    client: () => database.listenClient(),
    onNotice: live.notice,
    onListening() {
      live.resync();
      options.onListening?.();
    },
    onFailure: options.onListenerFailure,
  });
  const keepSeconds = Math.round(options.retentionMs / 1000);
  const prune = () => {
    database.client
      .$queryRaw`SELECT prune_task_changes(make_interval(secs => ${keepSeconds}))`.catch(
      (error: unknown) =>
        options.onPruneFailure?.(error instanceof Error ? error.message : String(error)),
    );
  };
  prune();
  const pruning = setInterval(prune, PRUNE_EVERY_MS);
  pruning.unref();
  return {
    live,
    ready: listener.ready,
    async close() {
      live.close();
      clearInterval(pruning);
      await listener.close();
    },
  };
}
