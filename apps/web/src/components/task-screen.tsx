"use client";

import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { errorMessage } from "../lib/errors.ts";
import { useTaskMutations } from "../lib/task-mutations.ts";
import { type Filter, listInput, NO_FILTER } from "../lib/tasks.ts";
import { useTRPC } from "../trpc/react.tsx";
import { Alert } from "./alert.tsx";
import { NewTaskForm } from "./new-task-form.tsx";
import { TaskFilters } from "./task-filters.tsx";
import { TaskItem } from "./task-item.tsx";
import { TaskStats } from "./task-stats.tsx";

/** The signed-in user's tasks: the first page arrives with the HTML, the rest on demand. */
export function TaskScreen() {
  const trpc = useTRPC();
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  // Searching waits for a pause in typing, not for every key.
  const search = useDebounced(filter.search, 250);
  const list = useInfiniteQuery(
    trpc.task.list.infiniteQueryOptions(listInput({ ...filter, search }), {
      getNextPageParam: (page) => page.nextCursor,
      placeholderData: keepPreviousData,
    }),
  );
  const { create, update, remove, error, dismissError } = useTaskMutations();
  const tasks = list.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = filter.status !== "all" || filter.priority !== null || search.trim() !== "";

  return (
    <>
      <TaskStats />
      <NewTaskForm onCreate={(task) => create.mutate(task)} />
      <TaskFilters filter={filter} onChange={setFilter} />
      {error && <Alert onDismiss={dismissError}>{error}</Alert>}
      <section className="card" aria-label="Task list" aria-busy={list.isFetching}>
        {list.isError && (
          <div className="stack">
            <Alert>{`The tasks could not be loaded: ${errorMessage(list.error)}`}</Alert>
            <button type="button" onClick={() => list.refetch()}>
              Try again
            </button>
          </div>
        )}
        {list.isPending ? (
          <p role="status">Loading tasks…</p>
        ) : list.isError ? null : tasks.length === 0 ? (
          <p className="muted">
            {filtered ? "No tasks match these filters." : "No tasks yet. Add one above."}
          </p>
        ) : (
          <ul aria-label="Tasks" className="tasks">
            {tasks.map((task) => (
              <TaskItem
                key={task.id}
                task={task}
                onUpdate={(changes) => update.mutateAsync(changes).catch(() => {})}
                onDelete={(id) => remove.mutate({ id })}
              />
            ))}
          </ul>
        )}
        {list.hasNextPage && (
          <button
            type="button"
            className="secondary"
            onClick={() => list.fetchNextPage()}
            disabled={list.isFetchingNextPage}
          >
            {list.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        )}
      </section>
    </>
  );
}

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
