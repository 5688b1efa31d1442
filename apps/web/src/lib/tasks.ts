import type { RouterInputs, RouterOutputs } from "@tasks/api";

/** Every type here comes from the API's router: nothing is declared twice. */
export type Task = RouterOutputs["task"]["list"]["items"][number];
/** The list's input without its cursor (infinite queries add it); tRPC types the optional input as `void | …`. */
export type ListInput = Omit<Extract<RouterInputs["task"]["list"], object>, "cursor">;
export type NewTask = RouterInputs["task"]["create"];
export type TaskChanges = RouterInputs["task"]["update"];
export type Priority = NonNullable<NewTask["priority"]>;
/** The counts' filters (`task.stats`). */
export type StatsInput = Extract<RouterInputs["task"]["stats"], object>;

export const PAGE_SIZE = 20;

/** Every priority the API knows, in order, with its label; the type makes it exhaustive. */
export const PRIORITY_LABELS: Record<Priority, string> = {
  LOW: "Low",
  MEDIUM: "Medium",
  HIGH: "High",
};

export function isPriority(value: unknown): value is Priority {
  return typeof value === "string" && Object.hasOwn(PRIORITY_LABELS, value);
}

export type Status = "all" | "open" | "completed";
const STATUSES: readonly Status[] = ["all", "open", "completed"];

/** The orders the API serves (`task.list`'s `sort`); each has its own keyset and index. */
export type Sort = NonNullable<ListInput["sort"]>;

export const SORT_LABELS: Record<Sort, string> = {
  created: "Newest first",
  due: "Due date",
  priority: "Priority",
};

function isSort(value: unknown): value is Sort {
  return typeof value === "string" && Object.hasOwn(SORT_LABELS, value);
}

export interface Filter {
  status: Status;
  priority: Priority | null;
  search: string;
  sort: Sort;
}

export const NO_FILTER: Filter = { status: "all", priority: null, search: "", sort: "created" };

/** Whether `filter` leaves tasks out (the order is not a filter). */
export function isFiltered(filter: Filter): boolean {
  return filter.status !== "all" || filter.priority !== null || filter.search.trim() !== "";
}

/**
 * The filter in the page's address, so that it can be shared, survives a reload and follows Back
 * and Forward: `?status=open&priority=high&q=milk&sort=due`. What is absent or unknown is the
 * default.
 */
export function filterFromParams(params: { get(name: string): string | null }): Filter {
  const status = params.get("status");
  const priority = params.get("priority")?.toUpperCase();
  const sort = params.get("sort");
  return {
    status: STATUSES.includes(status as Status) ? (status as Status) : "all",
    priority: isPriority(priority) ? priority : null,
    search: (params.get("q") ?? "").slice(0, 200),
    sort: isSort(sort) ? sort : "created",
  };
}

/** The search part of the page's address for `filter`: empty for the defaults. */
export function filterToSearch(filter: Filter): string {
  const params = new URLSearchParams();
  if (filter.status !== "all") params.set("status", filter.status);
  if (filter.priority) params.set("priority", filter.priority.toLowerCase());
  if (filter.search) params.set("q", filter.search);
  if (filter.sort !== "created") params.set("sort", filter.sort);
  const search = params.toString();
  return search ? `?${search}` : "";
}

/** The list query for a filter; the server renders its first page with the HTML. */
export function listInput({ status, priority, search, sort }: Filter): ListInput {
  const input: ListInput = { limit: PAGE_SIZE };
  if (status !== "all") input.completed = status === "completed";
  if (priority) input.priority = priority;
  if (search.trim()) input.search = search.trim();
  if (sort !== "created") input.sort = sort;
  return input;
}

/** The counts' query for a filter: the status is not part of it (the counts split by it). */
export function statsInput({ priority, search }: Filter): StatsInput {
  const input: StatsInput = {};
  if (priority) input.priority = priority;
  if (search.trim()) input.search = search.trim();
  return input;
}

/** Whether a task belongs in a list: how optimistic updates know where a task goes. */
export function matches(input: ListInput | StatsInput, task: Task): boolean {
  if ("completed" in input && input.completed !== undefined && task.completed !== input.completed) {
    return false;
  }
  if (input.priority && task.priority !== input.priority) return false;
  if (input.search) {
    const needle = input.search.toLowerCase();
    const haystack = `${task.title}\n${task.description ?? ""}`.toLowerCase();
    if (!haystack.includes(needle)) return false;
  }
  return true;
}

const PRIORITY_RANK: Record<Priority, number> = { HIGH: 0, MEDIUM: 1, LOW: 2 };

/** Newest first, then by id, descending: the API's tie-break in every order. */
function newestFirst(a: Task, b: Task): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The API's order for `sort`: negative when `a` comes first. */
export function compareTasks(sort: Sort = "created"): (a: Task, b: Task) => number {
  switch (sort) {
    case "created":
      return newestFirst;
    case "due":
      // Soonest due first; tasks without a due date last.
      return (a, b) =>
        (a.dueAt?.getTime() ?? Number.POSITIVE_INFINITY) -
          (b.dueAt?.getTime() ?? Number.POSITIVE_INFINITY) || newestFirst(a, b);
    case "priority":
      return (a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || newestFirst(a, b);
  }
}

/** Due dates are calendar days, kept as midnight UTC so that they read the same everywhere. */
export function dueDateFromInput(value: string): Date | null {
  return value ? new Date(`${value}T00:00:00.000Z`) : null;
}

export function dueDateToInput(date: Date | null): string {
  return date ? date.toISOString().slice(0, 10) : "";
}

/**
 * A due date as the browser's date field shows one in `locale` (01/10/2027 in en-US,
 * 10/01/2027 in en-GB, 10.01.2027 in de-DE): one form in the field and in the list.
 */
export function formatDueDate(date: Date, locale: string): string {
  return date.toLocaleDateString(locale, {
    timeZone: "UTC",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
}

/** Today's calendar day where the browser is, in the form of `dueDateToInput`. */
export function localToday(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Whether an open task is past its due day, or due today (`today` as `localToday` gives it). */
export function dueState(task: Task, today: string): "overdue" | "today" | null {
  if (!task.dueAt || task.completed) return null;
  const due = dueDateToInput(task.dueAt);
  return due < today ? "overdue" : due === today ? "today" : null;
}
