import type { InfiniteData, QueryKey } from "@tanstack/react-query";
import type { RouterOutputs } from "@tasks/api";
import { compareTasks, type ListInput, matches, type StatsInput, type Task } from "./tasks.ts";

/** The task queries as TanStack Query caches them. */
export type ListPage = RouterOutputs["task"]["list"];
export type CachedList = InfiniteData<ListPage, string | null>;
export type Stats = RouterOutputs["task"]["stats"];

/** A cached list's filters, from its query key (tRPC's: `[path, { input, type }]`). */
export function listInputOf(key: QueryKey): ListInput {
  return (key[1] as { input?: ListInput } | undefined)?.input ?? {};
}

/** A cached count's filters, from its query key. */
export function statsInputOf(key: QueryKey): StatsInput {
  return (key[1] as { input?: StatsInput } | undefined)?.input ?? {};
}

/**
 * `list` with the task `id` replaced by `task` (null: removed), which stays only where it
 * matches the list's filters: in its place if the list shows it, else inserted in the list's
 * order. A task that would come after the last page loaded, with more to load, is left to "Load
 * more" (the cursor is a position, so that page brings it). Undefined when nothing changes.
 */
export function placeTask(
  list: CachedList,
  input: ListInput,
  id: string,
  task: Task | null,
): CachedList | undefined {
  const shown = task && matches(input, task) ? task : null;
  let found = false;
  const pages = list.pages.map((page) => {
    if (!page.items.some((item) => item.id === id)) return page;
    found = true;
    const items = page.items.flatMap((item) => (item.id !== id ? [item] : shown ? [shown] : []));
    return { ...page, items };
  });
  if (found) return { ...list, pages };
  if (!shown) return undefined;
  const compare = compareTasks(input.sort);
  const last = pages.length - 1;
  const at = pages.findIndex(
    (page, index) =>
      page.items.some((item) => compare(shown, item) < 0) ||
      (index === last && page.nextCursor === null),
  );
  const page = pages[at];
  if (!page) return undefined;
  const before = page.items.findIndex((item) => compare(shown, item) < 0);
  const items = [...page.items];
  items.splice(before === -1 ? items.length : before, 0, shown);
  pages[at] = { ...page, items };
  return { ...list, pages };
}

/** What one task adds to the counts. */
export function tally(task: Task | null | undefined): Stats {
  if (!task) return { total: 0, completed: 0, open: 0 };
  return { total: 1, completed: task.completed ? 1 : 0, open: task.completed ? 0 : 1 };
}

/** The counts of `input`'s tasks once `before` has become `after` (either null: not there). */
export function recount(
  stats: Stats,
  before: Task | null,
  after: Task | null,
  input: StatsInput = {},
): Stats {
  const counted = (task: Task | null) => (task && matches(input, task) ? task : null);
  const [was, is] = [tally(counted(before)), tally(counted(after))];
  return {
    total: stats.total - was.total + is.total,
    completed: stats.completed - was.completed + is.completed,
    open: stats.open - was.open + is.open,
  };
}
