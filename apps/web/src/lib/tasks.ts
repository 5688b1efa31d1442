import type { RouterInputs, RouterOutputs } from "@tasks/api";

/** Every type here comes from the API's router: nothing is declared twice. */
export type Task = RouterOutputs["task"]["list"]["items"][number];
/** The list's input without its cursor (infinite queries add it); tRPC types the optional input as `void | …`. */
export type ListInput = Omit<Extract<RouterInputs["task"]["list"], object>, "cursor">;
export type NewTask = RouterInputs["task"]["create"];
export type TaskChanges = RouterInputs["task"]["update"];
export type Priority = NonNullable<NewTask["priority"]>;

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

export interface Filter {
  status: Status;
  priority: Priority | null;
  search: string;
}

export const NO_FILTER: Filter = { status: "all", priority: null, search: "" };

/** The list query for a filter; the first page of the unfiltered one is rendered on the server. */
export function listInput({ status, priority, search }: Filter): ListInput {
  const input: ListInput = { limit: PAGE_SIZE };
  if (status !== "all") input.completed = status === "completed";
  if (priority) input.priority = priority;
  if (search.trim()) input.search = search.trim();
  return input;
}

/** Whether a task belongs in a list: how optimistic updates know where a task goes. */
export function matches(input: ListInput, task: Task): boolean {
  if (input.completed !== undefined && task.completed !== input.completed) return false;
  if (input.priority && task.priority !== input.priority) return false;
  if (input.search) {
    const needle = input.search.toLowerCase();
    const haystack = `${task.title}\n${task.description ?? ""}`.toLowerCase();
    if (!haystack.includes(needle)) return false;
  }
  return true;
}

/** Due dates are calendar days, kept as midnight UTC so that they read the same everywhere. */
export function dueDateFromInput(value: string): Date | null {
  return value ? new Date(`${value}T00:00:00.000Z`) : null;
}

export function dueDateToInput(date: Date | null): string {
  return date ? date.toISOString().slice(0, 10) : "";
}

export function formatDueDate(date: Date): string {
  return date.toLocaleDateString("en-GB", { timeZone: "UTC", dateStyle: "medium" });
}
