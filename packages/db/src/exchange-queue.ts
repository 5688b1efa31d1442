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
  /** Connections that LISTEN, with their channels and where their answers go. */
  private readonly listeners = new Map<number, Listener>();
  /** An UNLISTEN ran: the session stopped listening for every connection, so it listens again. */
  private unlistened = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void) {
    this.noteListening(handlerId, message, onData);
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
    this.listeners.delete(handlerId);
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
        if (this.unlistened) await this.listenAgain();
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

  private async execute({ handlerId, message, onData, resolve, reject }: Pending): Promise<void> {
    let bytes = 0;
    const forward =
      this.listeners.size > 0 ? new NotificationForwarder(this.listeners, handlerId) : null;
    try {
      await this.db.runExclusive(() =>
        this.db.execProtocolRawStream(message, {
          onRawData: (data) => {
            bytes += data.length;
            onData(data);
            forward?.scan(data);
          },
        }),
      );
      resolve(bytes);
    } catch (error) {
      reject(error);
    }
  }

  /**
   * The one session LISTENs for every connection that asked, and PostgreSQL hands its
   * notifications to whichever exchange runs at the time: they are passed on to the connections
   * that listen on their channel (see NotificationForwarder).
   */
  private noteListening(
    handlerId: number,
    message: Uint8Array,
    onData: (data: Uint8Array) => void,
  ) {
    if (message[0] !== QUERY) return;
    const sql = new TextDecoder().decode(message.subarray(5, message.length - 1));
    const statement = /^\s*(UNLISTEN|LISTEN)\s+"?([\w*]+)"?\s*;?\s*$/i.exec(sql);
    if (!statement?.[1] || !statement[2]) return;
    const listener = this.listeners.get(handlerId) ?? { channels: new Set<string>(), onData };
    listener.onData = onData;
    if (statement[1].toUpperCase() === "LISTEN") {
      listener.channels.add(statement[2]);
    } else {
      if (statement[2] === "*") listener.channels.clear();
      else listener.channels.delete(statement[2]);
      this.unlistened = true;
    }
    if (listener.channels.size > 0) this.listeners.set(handlerId, listener);
    else this.listeners.delete(handlerId);
  }

  /** The session LISTENs again on the channels other connections still listen on. */
  private async listenAgain(): Promise<void> {
    this.unlistened = false;
    const channels = new Set([...this.listeners.values()].flatMap(({ channels }) => [...channels]));
    // Channel names are words (see noteListening).
    for (const channel of channels) await this.db.exec(`LISTEN "${channel}"`);
  }

  /** Whether the connection that sent `message` must keep the backend for what follows. */
  private holdsBackend(message: Uint8Array): boolean {
    // An exchange lasts until its Sync; a transaction until it ends, whatever the
    // connection sends meanwhile (even Terminate: closing then rolls it back).
    return EXTENDED_PROTOCOL.has(String.fromCharCode(message[0] ?? 0)) || this.db.isInTransaction();
  }
}

interface Listener {
  channels: Set<string>;
  onData(data: Uint8Array): void;
}

/**
 * Finds the NotificationResponse messages ('A': process id, channel, payload) in one exchange's
 * answer, and sends a copy of each to the other connections that listen on its channel.
 */
class NotificationForwarder {
  private pending = new Uint8Array(0);

  constructor(
    private readonly listeners: ReadonlyMap<number, Listener>,
    private readonly sender: number,
  ) {}

  scan(data: Uint8Array): void {
    let bytes = data;
    if (this.pending.length > 0) {
      bytes = new Uint8Array(this.pending.length + data.length);
      bytes.set(this.pending);
      bytes.set(data, this.pending.length);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    while (offset + 5 <= bytes.length) {
      const end = offset + 1 + view.getInt32(offset + 1);
      if (end > bytes.length) break;
      if (bytes[offset] === NOTIFICATION) this.forward(bytes.slice(offset, end));
      offset = end;
    }
    this.pending = bytes.slice(offset);
  }

  private forward(message: Uint8Array): void {
    const channelEnd = message.indexOf(0, 9);
    const channel = new TextDecoder().decode(message.subarray(9, channelEnd));
    for (const [handlerId, listener] of this.listeners) {
      if (handlerId !== this.sender && listener.channels.has(channel)) listener.onData(message);
    }
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
/** The simple protocol's Query ('Q') and the server's NotificationResponse ('A'). */
const QUERY = 0x51;
const NOTIFICATION = 0x41;
