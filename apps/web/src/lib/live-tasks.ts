"use client";

import { type QueryClient, type QueryFilters, useQueryClient } from "@tanstack/react-query";
import type { AppRouter, LiveChange } from "@tasks/api";
import { type TRPCOptionsProxy, useSubscription } from "@trpc/tanstack-react-query";
import { useState } from "react";
import { endSessionIfRefused, useTRPC } from "../trpc/react.tsx";
import {
  type CachedList,
  listInputOf,
  placeTask,
  recount,
  type Stats,
  statsInputOf,
} from "./task-cache.ts";
import type { Task } from "./tasks.ts";

/**
 * Follows the user's changes (`task.changes`) while the task screen is open, from every tab and
 * device: each is merged into the cached lists and counts as it comes, with no refetch.
 */
export function useLiveTasks() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [apply] = useState(() => liveMerge(queryClient, trpc));
  useSubscription(
    trpc.task.changes.subscriptionOptions(undefined, {
      onData: ({ data }) => apply(data),
      onError: endSessionIfRefused,
    }),
  );
}

/**
 * Applies changes one after another, each once the task queries and this tab's task mutations
 * are idle: an answer still on its way may predate the change and would overwrite it, and this
 * tab's own changes are then settled (their event finds the task as it is, and changes nothing).
 */
export function liveMerge(queryClient: QueryClient, trpc: TRPCOptionsProxy<AppRouter>) {
  let queue = Promise.resolve();
  return (change: LiveChange) => {
    // The session is over: nothing else matters.
    if (change.kind === "account_deleted") {
      window.location.assign("/sign-in?deleted=1");
      return;
    }
    queue = queue
      .then(() => whenIdle(queryClient, trpc))
      .then(() => applyChange(queryClient, trpc, change))
      .catch((error: unknown) => console.error("A live change could not be applied:", error));
  };
}

function applyChange(
  queryClient: QueryClient,
  trpc: TRPCOptionsProxy<AppRouter>,
  change: Exclude<LiveChange, { kind: "account_deleted" }>,
): Promise<void> | undefined {
  // What is shown may be older than the stream: one refetch of every task query (one request).
  if (change.kind === "refetch") return queryClient.invalidateQueries(trpc.task.pathFilter());
  const lists = trpc.task.list.pathFilter();
  const id = change.kind === "deleted" ? change.id : change.task.id;
  const after = change.kind === "deleted" ? null : change.task;
  const before = shownTask(queryClient, lists, id);
  for (const [key, list] of queryClient.getQueriesData<CachedList>(lists)) {
    const placed = list && placeTask(list, listInputOf(key), id, after);
    if (placed) queryClient.setQueryData(key, placed);
  }
  // A task no list shows was counted as it was before, unless it is new: only the counts know.
  if (before === undefined && change.kind !== "created") {
    return queryClient.invalidateQueries(trpc.task.stats.queryFilter());
  }
  for (const [key, stats] of queryClient.getQueriesData<Stats>(trpc.task.stats.pathFilter())) {
    if (stats)
      queryClient.setQueryData(key, recount(stats, before ?? null, after, statsInputOf(key)));
  }
}

/** The task as a cached list shows it, of the lists that are up to date (not waiting to refetch). */
function shownTask(queryClient: QueryClient, lists: QueryFilters, id: string): Task | undefined {
  for (const query of queryClient.getQueryCache().findAll(lists)) {
    if (query.state.isInvalidated) continue;
    for (const page of (query.state.data as CachedList | undefined)?.pages ?? []) {
      const task = page.items.find((item) => item.id === id);
      if (task) return task;
    }
  }
  return undefined;
}

/** Resolves once no task query is fetching and no task mutation of this tab is in flight. */
function whenIdle(queryClient: QueryClient, trpc: TRPCOptionsProxy<AppRouter>): Promise<void> {
  const queries = trpc.task.pathFilter();
  const mutations = { mutationKey: trpc.task.pathKey() };
  const busy = () => queryClient.isFetching(queries) > 0 || queryClient.isMutating(mutations) > 0;
  if (!busy()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (busy()) return;
      stopQueries();
      stopMutations();
      resolve();
    };
    const stopQueries = queryClient.getQueryCache().subscribe(check);
    const stopMutations = queryClient.getMutationCache().subscribe(check);
  });
}
