/**
 * The API as a few lines of plain data: what each user's tasks should be after a sequence of
 * operations, for the model-based test to compare the real API with.
 */
import type { RouterInputs, RouterOutputs } from "@tasks/api";

export type Task = RouterOutputs["task"]["byId"];
export type Priority = Task["priority"];
export type Sort = NonNullable<Exclude<RouterInputs["task"]["list"], void>["sort"]>;

/** The orders of `task.list`, as its `sort` names them. */
export const SORTS: readonly Sort[] = ["created", "due", "priority"];

export interface Filter {
  completed?: boolean;
  priority?: Priority;
  search?: string;
}

interface UserState {
  /** The user's tasks now, by id. */
  tasks: Map<string, Task>;
  /** Every id the user has created, deleted or not: the only ids the user may ever see. */
  created: Set<string>;
}

export class TaskModel {
  readonly users: UserState[];

  constructor(userCount: number) {
    this.users = Array.from({ length: userCount }, () => ({
      tasks: new Map(),
      created: new Set(),
    }));
  }

  private user(index: number): UserState {
    const user = this.users[index];
    if (!user) throw new Error(`no user ${index} in the model`);
    return user;
  }

  /** The user's tasks in the order `sort` of `task.list` (default newest first). */
  tasks(user: number, sort: Sort = "created"): Task[] {
    return [...this.user(user).tasks.values()].sort(ORDERS[sort]);
  }

  /** Every user's tasks as `[owner, id]`, in a stable order (user, then creation). */
  owned(): [number, string][] {
    return this.users.flatMap((user, index) =>
      [...user.tasks.keys()].map((id): [number, string] => [index, id]),
    );
  }

  /** Ids the user must get NOT_FOUND for: the user's deleted tasks and every other user's. */
  unreachableIds(user: number): string[] {
    const own = this.user(user);
    return this.users.flatMap((other) =>
      [...other.created].filter((id) => other !== own || !own.tasks.has(id)),
    );
  }

  task(user: number, id: string): Task | undefined {
    return this.user(user).tasks.get(id);
  }

  /** Whose task `id` is, if any user of the model created it. */
  creatorOf(id: string): number | undefined {
    const index = this.users.findIndex((user) => user.created.has(id));
    return index === -1 ? undefined : index;
  }

  put(user: number, task: Task): void {
    const state = this.user(user);
    state.tasks.set(task.id, task);
    state.created.add(task.id);
  }

  /** Every user's tasks now, each user's sorted by id, as the database holds them. */
  stored(): Task[][] {
    return this.users.map((user) => [...user.tasks.values()].sort((a, b) => compare(a.id, b.id)));
  }

  delete(user: number, id: string): void {
    this.user(user).tasks.delete(id);
  }

  /** The account is gone with its tasks; the next request makes a new, empty one. */
  deleteAccount(user: number): void {
    this.user(user).tasks.clear();
  }

  list(user: number, filter: Filter, sort: Sort = "created"): Task[] {
    return this.tasks(user, sort).filter((task) => matches(task, filter));
  }

  /** `task.stats`: the counts of the user's tasks that match `filter` (all of them without). */
  stats(user: number, filter: Omit<Filter, "completed"> = {}) {
    const tasks = this.list(user, filter);
    const completed = tasks.filter((task) => task.completed).length;
    return { total: tasks.length, completed, open: tasks.length - completed };
  }
}

/** The `created` order, and every order's ties: `createdAt` descending, then id descending (UUIDs compare as their text). */
function newestFirst(a: Task, b: Task): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return compare(b.id, a.id);
}

/** Soonest due first, tasks without a due date last; ties newest first. */
function soonestDueFirst(a: Task, b: Task): number {
  if (a.dueAt === null) return b.dueAt === null ? newestFirst(a, b) : 1;
  if (b.dueAt === null) return -1;
  return a.dueAt.getTime() - b.dueAt.getTime() || newestFirst(a, b);
}

const RANK: Record<Priority, number> = { HIGH: 0, MEDIUM: 1, LOW: 2 };

/** HIGH, then MEDIUM, then LOW; ties newest first. */
function highestPriorityFirst(a: Task, b: Task): number {
  return RANK[a.priority] - RANK[b.priority] || newestFirst(a, b);
}

const ORDERS: Record<Sort, (a: Task, b: Task) => number> = {
  created: newestFirst,
  due: soonestDueFirst,
  priority: highestPriorityFirst,
};

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The search is a literal, case-insensitive substring of the title or the description. */
function matches(task: Task, { completed, priority, search }: Filter): boolean {
  if (completed !== undefined && task.completed !== completed) return false;
  if (priority !== undefined && task.priority !== priority) return false;
  if (search === undefined) return true;
  const needle = search.toLowerCase();
  return [task.title, task.description ?? ""].some((text) => text.toLowerCase().includes(needle));
}
