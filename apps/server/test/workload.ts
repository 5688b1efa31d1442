/**
 * A mixed workload of many users for the load test: which request to send next, and whether each
 * answer is right for the user who asked.
 *
 * A user has at most one request in flight, so everything a user's answers should hold follows
 * from that user's earlier answers: a listing must be exactly the user's tasks, and an answer
 * about a task that is not the caller's is an isolation violation. Titles carry the user's id,
 * so a task that went to the wrong user shows even in the database.
 */
import superjson from "superjson";

export type Operation = "list" | "create" | "update" | "delete";

/** What a request was, kept until its answer (plain data: autocannon copies its context). */
export interface Pending {
  user: number;
  operation: Operation;
  id?: string;
  title?: string;
}

export interface HttpRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface LoadUser {
  sub: string;
  token: string;
  /** The user's tasks now: id → title. */
  tasks: Map<string, string>;
  /** Every id the user has created: the only ids its answers may hold. */
  created: Set<string>;
  titles: number;
}

/** Tasks a user may have at once, so that a listing stays one page. */
const MAX_TASKS = 20;
const LIST_PATH = `/trpc/task.list?input=${encodeURIComponent(JSON.stringify({ json: { limit: 100 } }))}`;

export class Workload {
  readonly users: LoadUser[];
  /** Users with no request in flight, the longest idle first. */
  private readonly idle: number[];
  readonly completed: Record<Operation, number> = { list: 0, create: 0, update: 0, delete: 0 };
  /** Answers that held, or acted on, a task of another user. */
  readonly violations: string[] = [];
  /** Answers that differ from what the user's own earlier answers imply. */
  readonly mismatches: string[] = [];
  /** Answers that were not 200. */
  readonly failures: string[] = [];

  constructor(users: { sub: string; token: string }[]) {
    this.users = users.map((user) => ({
      ...user,
      tasks: new Map(),
      created: new Set(),
      titles: 0,
    }));
    this.idle = this.users.map((_, index) => index);
  }

  /** Users whose request was still in flight when the run ended: their last write is unknown. */
  inFlight(): Set<number> {
    const idle = new Set(this.idle);
    return new Set(this.users.map((_, index) => index).filter((index) => !idle.has(index)));
  }

  /** The next request: by the user idle the longest, doing what fits the user's tasks. */
  next(): { request: HttpRequest; pending: Pending } {
    const index = this.idle.shift();
    if (index === undefined) throw new Error("more connections than users");
    const user = this.users[index] as LoadUser;
    const operation = chooseOperation(user.tasks.size);
    const headers = { authorization: `Bearer ${user.token}`, "content-type": "application/json" };
    const post = (procedure: string, input: object): HttpRequest => ({
      method: "POST",
      path: `/trpc/${procedure}`,
      headers,
      body: JSON.stringify(superjson.serialize(input)),
    });
    const title = `${user.sub}:${++user.titles}`;
    const id = [...user.tasks.keys()][Math.floor(Math.random() * user.tasks.size)];
    switch (operation) {
      case "list":
        return {
          request: { method: "GET", path: LIST_PATH, headers },
          pending: { user: index, operation },
        };
      case "create":
        return {
          request: post("task.create", { title }),
          pending: { user: index, operation, title },
        };
      case "update":
        return {
          request: post("task.update", { id, title, completed: Math.random() < 0.5 }),
          pending: { user: index, operation, id, title },
        };
      case "delete":
        return { request: post("task.delete", { id }), pending: { user: index, operation, id } };
    }
  }

  /** Checks an answer against the user who asked, and frees that user for the next request. */
  record(pending: Pending, status: number, body: string): void {
    this.idle.push(pending.user);
    const user = this.users[pending.user] as LoadUser;
    const where = `${pending.operation} by ${user.sub}`;
    if (status !== 200) {
      this.failures.push(`${where}: ${status} ${body.slice(0, 300)}`);
      return;
    }
    this.completed[pending.operation]++;
    const answer = superjson.deserialize<Record<string, unknown>>(JSON.parse(body).result.data);
    const tasks = (pending.operation === "list" ? answer.items : [answer]) as {
      id: string;
      title?: string;
    }[];
    for (const task of tasks) {
      if (!user.created.has(task.id) && pending.operation !== "create") {
        this.violations.push(`${where} got task ${task.id} (${task.title}), not the user's`);
      }
      if (task.title !== undefined && !task.title.startsWith(`${user.sub}:`)) {
        this.violations.push(`${where} got task ${task.id} titled ${task.title}`);
      }
    }
    const expect = (what: string, actual: unknown, expected: unknown) => {
      const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
      if (a !== e) this.mismatches.push(`${where}: ${what} is ${a}, expected ${e}`);
    };
    switch (pending.operation) {
      case "list": {
        const listed = tasks.map((task) => [task.id, task.title]).sort();
        expect("the listing", listed, [...user.tasks].sort());
        break;
      }
      case "create": {
        const { id, title } = answer as { id: string; title: string };
        expect("the new task's title", title, pending.title);
        expect("the new id is unused", user.created.has(id), false);
        user.created.add(id);
        user.tasks.set(id, title);
        break;
      }
      case "update":
        expect("the updated task", [answer.id, answer.title], [pending.id, pending.title]);
        user.tasks.set(pending.id as string, pending.title as string);
        break;
      case "delete":
        expect("the deleted id", answer.id, pending.id);
        user.tasks.delete(pending.id as string);
        break;
    }
  }
}

/** About 40% listings, 25% creates, 20% updates and 15% deletes, within 0–MAX_TASKS tasks. */
function chooseOperation(taskCount: number): Operation {
  const roll = Math.random();
  if (roll < 0.4) return "list";
  if (taskCount === 0) return "create";
  if (taskCount >= MAX_TASKS) return roll < 0.7 ? "update" : "delete";
  return roll < 0.65 ? "create" : roll < 0.85 ? "update" : "delete";
}
