"use client";

import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";
import { errorMessage } from "../lib/errors.ts";
import { useLiveTasks } from "../lib/live-tasks.ts";
import { useTaskMutations } from "../lib/task-mutations.ts";
import {
  type Filter,
  filterFromParams,
  filterToSearch,
  isFiltered,
  listInput,
  type Task,
} from "../lib/tasks.ts";
import { useUndoableDelete } from "../lib/undoable-delete.ts";
import { useTRPC } from "../trpc/react.tsx";
import { Alert } from "./alert.tsx";
import { NewTaskForm } from "./new-task-form.tsx";
import { TaskFilters } from "./task-filters.tsx";
import { TaskItem } from "./task-item.tsx";
import { TaskStats } from "./task-stats.tsx";
import { UndoBar } from "./undo-bar.tsx";

/**
 * The signed-in user's tasks: the first page arrives with the HTML, the rest on demand, and
 * changes made elsewhere (other tabs, devices) as they happen. The filter and the order are in
 * the page's address.
 */
export function TaskScreen() {
  const trpc = useTRPC();
  useLiveTasks();
  const [filter, setFilter] = useAddressFilter();
  // Searching waits for a pause in typing, not for every key.
  const search = useDebounced(filter.search, 250);
  const list = useInfiniteQuery(
    trpc.task.list.infiniteQueryOptions(listInput({ ...filter, search }), {
      getNextPageParam: (page) => page.nextCursor,
      placeholderData: keepPreviousData,
    }),
  );
  const { create, update, remove, error, dismissError } = useTaskMutations();
  const deletion = useUndoableDelete((id, done) => remove.mutate({ id }, { onSettled: done }));
  const loaded = list.data?.pages.flatMap((page) => page.items) ?? [];
  const hiddenIds = new Set(deletion.hidden.map((entry) => entry.task.id));
  const tasks = loaded.filter((task) => !hiddenIds.has(task.id));
  // Counted without the hidden ones the cache still holds (the others it no longer counts).
  const hiddenShown = loaded.filter((task) => hiddenIds.has(task.id));

  function deleteTask(task: Task) {
    const at = tasks.findIndex((item) => item.id === task.id);
    const next = tasks[at + 1] ?? tasks[at - 1];
    deletion.schedule(task);
    // The keyboard goes on from the next task (or the previous, or the new-task form).
    focusAfterRender(next ? `task-${next.id}` : "new-title");
  }

  function undo(task: Task) {
    deletion.undo(task.id);
    focusAfterRender(`task-${task.id}`);
  }

  return (
    <>
      <h1 className="page-title">Your tasks</h1>
      <TaskStats filter={{ ...filter, search }} hidden={hiddenShown} />
      <NewTaskForm onCreate={(task) => create.mutate(task)} />
      <TaskFilters
        filter={filter}
        onChange={(next) => setFilter(next, "push")}
        onSearch={(text) => setFilter({ ...filter, search: text }, "replace")}
      />
      {error && <Alert onDismiss={dismissError}>{error}</Alert>}
      <UndoBar tasks={deletion.undoable} onUndo={undo} />
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
            {isFiltered({ ...filter, search })
              ? "No tasks match these filters."
              : "No tasks yet. Add one above."}
          </p>
        ) : (
          <ul aria-label="Tasks" className="tasks">
            {tasks.map((task) => (
              <TaskItem
                key={task.id}
                task={task}
                onUpdate={(changes) => update.mutateAsync(changes).catch(() => {})}
                onDelete={deleteTask}
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

/**
 * The filter, kept in the page's address without a server round trip: a filter chosen is a new
 * history entry, so that Back undoes it; typing in the search field replaces the current one.
 * The screen follows its own state at once (the address follows it), and the address when Back
 * or Forward changes it.
 */
function useAddressFilter() {
  const params = useSearchParams();
  const [filter, setFilter] = useState(() => filterFromParams(params));
  useEffect(() => {
    const onPopState = () => setFilter(filterFromParams(new URLSearchParams(location.search)));
    window.addEventListener("popstate", onPopState);
    return () => window.removeEventListener("popstate", onPopState);
  }, []);
  const change = (next: Filter, how: "push" | "replace") => {
    setFilter(next);
    const url = `${window.location.pathname}${filterToSearch(next)}`;
    if (how === "push") window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
  };
  return [filter, change] as const;
}

function focusAfterRender(id: string) {
  requestAnimationFrame(() => document.getElementById(id)?.focus());
}

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
