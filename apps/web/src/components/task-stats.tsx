"use client";

import { useQuery } from "@tanstack/react-query";
import { recount, type Stats } from "../lib/task-cache.ts";
import { type Filter, isFiltered, PRIORITY_LABELS, statsInput, type Task } from "../lib/tasks.ts";
import { useTRPC } from "../trpc/react.tsx";

/**
 * The counts: of every task, and when a filter is on, of what it shows ("Showing 2 of 5 tasks:
 * open, high priority, matching “milk”"). Tasks deleted but still undoable are not counted.
 */
export function TaskStats({ filter, hidden }: { filter: Filter; hidden: Task[] }) {
  const trpc = useTRPC();
  const filtered = isFiltered(filter);
  const input = statsInput(filter);
  // A status alone needs no counts of its own: the counts of all tasks split by it.
  const narrowed = Object.keys(input).length > 0;
  const all = useQuery(trpc.task.stats.queryOptions());
  const own = useQuery({ ...trpc.task.stats.queryOptions(input), enabled: narrowed });
  const matching = narrowed ? own : all;
  const without = (stats: Stats, input = {}) =>
    hidden.reduce((counts, task) => recount(counts, task, null, input), stats);

  let text = "Counting…";
  if (all.isError || matching.isError) text = "Counts are unavailable.";
  else if (all.data && !filtered) {
    const { total, completed, open } = without(all.data);
    text = `${count(total, "task")} · ${completed} done · ${open} open`;
  } else if (all.data && matching.data) {
    const counts = without(matching.data, input);
    const shown =
      filter.status === "open"
        ? counts.open
        : filter.status === "completed"
          ? counts.completed
          : counts.total;
    text = `Showing ${shown} of ${count(without(all.data).total, "task")}: ${describe(filter)}`;
  }
  return (
    <p role="status" aria-label="Stats" className="muted">
      {text}
    </p>
  );
}

/** The filter in words: "open, high priority, matching “milk”". */
function describe(filter: Filter): string {
  const parts: string[] = [];
  if (filter.status !== "all") parts.push(filter.status);
  if (filter.priority) parts.push(`${PRIORITY_LABELS[filter.priority].toLowerCase()} priority`);
  if (filter.search.trim()) parts.push(`matching “${filter.search.trim()}”`);
  return parts.join(", ");
}

function count(n: number, noun: string) {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}
