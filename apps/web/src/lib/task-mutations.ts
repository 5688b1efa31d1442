"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { errorMessage } from "./errors.ts";
import {
  type CachedList,
  listInputOf,
  placeTask,
  recount,
  type Stats,
  statsInputOf,
} from "./task-cache.ts";
import { type ListInput, matches, type NewTask, type Task } from "./tasks.ts";

/** Tasks shown before the API has answered have an id of this form until it does. */
export const PENDING_ID_PREFIX = "pending-";

export function isPending(task: Task): boolean {
  return task.id.startsWith(PENDING_ID_PREFIX);
}

/**
 * Create, update and delete, each shown at once in every cached list (the
 * optimistic update), put back as it was if the API refuses, with a message
 * saying why; and every list refreshed from the API afterwards.
 */
export function useTaskMutations() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const lists = trpc.task.list.pathFilter();

  /** Stops list fetches in flight (they would overwrite the change) and keeps what was shown. */
  async function snapshot() {
    await queryClient.cancelQueries(trpc.task.pathFilter());
    return queryClient.getQueriesData(trpc.task.pathFilter());
  }

  /** The task as the cached lists show it. */
  function shown(id: string): Task | null {
    for (const [, data] of queryClient.getQueriesData<CachedList>(lists)) {
      for (const page of data?.pages ?? []) {
        const task = page.items.find((item) => item.id === id);
        if (task) return task;
      }
    }
    return null;
  }

  function restore(snapshots: Awaited<ReturnType<typeof snapshot>> | undefined) {
    for (const [key, data] of snapshots ?? []) queryClient.setQueryData(key, data);
  }

  /** Rewrites every cached list: `change` returns the task to show in its place, or null. */
  function patchLists(change: (task: Task, input: ListInput) => Task | null) {
    for (const [key, data] of queryClient.getQueriesData<CachedList>(lists)) {
      if (!data) continue;
      const input = listInputOf(key);
      const pages = data.pages.map((page) => ({
        ...page,
        items: page.items.flatMap((task) => {
          const next = change(task, input);
          return next && matches(input, next) ? [next] : [];
        }),
      }));
      queryClient.setQueryData<CachedList>(key, { ...data, pages });
    }
  }

  /** Puts `task` in place of `id` in every cached list, in the list's order (null: removes it). */
  function place(id: string, task: Task | null) {
    for (const [key, data] of queryClient.getQueriesData<CachedList>(lists)) {
      const placed = data && placeTask(data, listInputOf(key), id, task);
      if (placed) queryClient.setQueryData(key, placed);
    }
  }

  /**
   * Every task query refreshed from the API, once the last task mutation in flight has settled:
   * a refetch while others are still queued would drop what they show.
   */
  const settle = () => {
    if (queryClient.isMutating({ mutationKey: trpc.task.pathKey() }) > 1) return;
    void queryClient.invalidateQueries(trpc.task.pathFilter());
  };
  const fail = (what: string) => (cause: unknown) => setError(`${what}: ${errorMessage(cause)}`);

  const create = useMutation(
    trpc.task.create.mutationOptions({
      // One after another, in the order they were submitted: the server stamps each task when
      // it stores it, so tasks added quickly keep their order after a reload.
      scope: { id: "task.create" },
      async onMutate(input: NewTask) {
        setError(null);
        await queryClient.cancelQueries(lists);
        const now = new Date();
        const pendingId = `${PENDING_ID_PREFIX}${crypto.randomUUID()}`;
        place(pendingId, {
          id: pendingId,
          title: input.title.trim(),
          description: input.description ?? null,
          priority: input.priority ?? "MEDIUM",
          dueAt: input.dueAt ?? null,
          completed: false,
          createdAt: now,
          updatedAt: now,
        });
        return { pendingId };
      },
      onSuccess(task, _input, context) {
        place(context.pendingId, task);
      },
      // Only this one goes: creates queued behind it stay shown.
      onError(cause, _input, context) {
        if (context) place(context.pendingId, null);
        fail("The task was not added")(cause);
      },
      onSettled: settle,
    }),
  );

  const update = useMutation(
    trpc.task.update.mutationOptions({
      async onMutate({ id, ...changes }) {
        setError(null);
        const snapshots = await snapshot();
        patchLists((task) => (task.id === id ? { ...task, ...changes } : task));
        return { snapshots };
      },
      onError(cause, _input, context) {
        restore(context?.snapshots);
        fail("The change was not saved")(cause);
      },
      onSettled: settle,
    }),
  );

  const remove = useMutation(
    trpc.task.delete.mutationOptions({
      async onMutate({ id }) {
        setError(null);
        const snapshots = await snapshot();
        const before = shown(id);
        patchLists((task) => (task.id === id ? null : task));
        for (const [key, stats] of queryClient.getQueriesData<Stats>(
          trpc.task.stats.pathFilter(),
        )) {
          if (stats) queryClient.setQueryData(key, recount(stats, before, null, statsInputOf(key)));
        }
        return { snapshots };
      },
      onError(cause, _input, context) {
        restore(context?.snapshots);
        fail("The task was not deleted")(cause);
      },
      onSettled: settle,
    }),
  );

  return { create, update, remove, error, dismissError: () => setError(null) };
}
