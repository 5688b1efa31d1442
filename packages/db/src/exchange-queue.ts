import type { PGlite } from "@electric-sql/pglite";

/**
 * Runs the protocol messages of many connections on PGlite's single backend,
 * one whole exchange at a time.
 *
 * PGlite has one session. `@electric-sql/pglite-socket`'s own queue runs one
 * message at a time, so the extended-protocol messages of two connections
 * (Parse, Bind, Execute … Sync) can interleave: one connection's Bind then
 * binds the statement another one just parsed. Here a connection that starts
 * an exchange holds the backend until its Sync, and until the end of any
 * transaction it opened; the others wait their turn.
 *
 * It stands in for pglite-socket's internal queue (same methods), which the
 * package does not let callers replace otherwise.
 */
export class ExchangeQueue {
  private readonly waiting: Pending[] = [];
  /** The connection that holds the backend, if one does. */
  private owner: number | null = null;
  private running = false;
  /** The connection whose message runs now. */
  private executing: number | null = null;
  /** Connections that closed while a message of theirs was running. */
  private readonly closed = new Set<number>();

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void) {
    return new Promise<number>((resolve, reject) => {
      this.waiting.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }

  getQueueLength(): number {
    return this.waiting.length;
  }

  /** Drops a closed connection's waiting messages. */
  clearQueueForHandler(handlerId: number): void {
    // Its running message (e.g. one waiting for the backend while a client timed out) must not
    // hand it the backend once done: nobody would ever give it back.
    if (this.executing === handlerId) this.closed.add(handlerId);
    for (let index = this.waiting.length - 1; index >= 0; index--) {
      const pending = this.waiting[index];
      if (pending?.handlerId !== handlerId) continue;
      this.waiting.splice(index, 1);
      pending.reject(new Error("Connection closed"));
    }
  }

  /** A connection that closes while it holds the backend leaves it as it found it. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    await this.leaveBackendClean();
    this.owner = null;
    void this.run();
  }

  /** Ends an unfinished exchange, then rolls back whatever it left open. */
  private async leaveBackendClean(): Promise<void> {
    // `exec` takes PGlite's lock by itself.
    await this.db.runExclusive(() => this.db.execProtocolRaw(SYNC));
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const index =
          this.owner === null
            ? 0
            : this.waiting.findIndex((pending) => pending.handlerId === this.owner);
        const pending = index < 0 ? undefined : this.waiting.splice(index, 1)[0];
        if (!pending) return;
        this.executing = pending.handlerId;
        await this.execute(pending);
        this.executing = null;
        const holds = this.holdsBackend(pending.message);
        if (this.closed.delete(pending.handlerId)) {
          if (holds) await this.leaveBackendClean();
          this.owner = null;
        } else {
          this.owner = holds ? pending.handlerId : null;
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async execute({ message, onData, resolve, reject }: Pending): Promise<void> {
    let bytes = 0;
    try {
      await this.db.runExclusive(() =>
        this.db.execProtocolRawStream(message, {
          onRawData: (data) => {
            bytes += data.length;
            onData(data);
          },
        }),
      );
      resolve(bytes);
    } catch (error) {
      reject(error);
    }
  }

  /** Whether the connection that sent `message` must keep the backend for what follows. */
  private holdsBackend(message: Uint8Array): boolean {
    // An exchange lasts until its Sync; a transaction until it ends, whatever the
    // connection sends meanwhile (even Terminate: closing then rolls it back).
    return EXTENDED_PROTOCOL.has(String.fromCharCode(message[0] ?? 0)) || this.db.isInTransaction();
  }
}

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData(data: Uint8Array): void;
  resolve(bytes: number): void;
  reject(error: unknown): void;
}

/** Messages that open or continue an extended-protocol exchange, which only Sync ends. */
const EXTENDED_PROTOCOL = new Set(["P", "B", "D", "E", "C", "H"]);

const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
