"use client";

import { type InfiniteData, useMutation, useQueryClient } from "@tanstack/react-query";
import type { RouterOutputs } from "@tasks/api";
import { useState } from "react";
import { useTRPC } from "../trpc/react.tsx";
import { errorMessage } from "./errors.ts";
import { type ListInput, matches, type NewTask, type Task } from "./tasks.ts";

type ListPage = RouterOutputs["task"]["list"];
type CachedList = InfiniteData<ListPage, string | null>;

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
    await queryClient.cancelQueries(lists);
    return queryClient.getQueriesData<CachedList>(lists);
  }

  function restore(snapshots: Awaited<ReturnType<typeof snapshot>> | undefined) {
    for (const [key, data] of snapshots ?? []) queryClient.setQueryData(key, data);
  }

  /** Rewrites every cached list: `change` returns the task to show in its place, or null. */
  function patchLists(change: (task: Task, input: ListInput) => Task | null, add?: Task) {
    for (const [key, data] of queryClient.getQueriesData<CachedList>(lists)) {
      if (!data) continue;
      const input = (key[1] as { input?: ListInput } | undefined)?.input ?? {};
      const pages = data.pages.map((page, index) => {
        const items = page.items.flatMap((task) => {
          const next = change(task, input);
          return next && matches(input, next) ? [next] : [];
        });
        return index === 0 && add && matches(input, add)
          ? { ...page, items: [add, ...items] }
          : { ...page, items };
      });
      queryClient.setQueryData<CachedList>(key, { ...data, pages });
    }
  }

  const settle = () => queryClient.invalidateQueries(trpc.task.pathFilter());
  const fail = (what: string) => (cause: unknown) => setError(`${what}: ${errorMessage(cause)}`);

  const create = useMutation(
    trpc.task.create.mutationOptions({
      async onMutate(input: NewTask) {
        setError(null);
        const snapshots = await snapshot();
        const now = new Date();
        patchLists((task) => task, {
          id: `${PENDING_ID_PREFIX}${crypto.randomUUID()}`,
          title: input.title.trim(),
          description: input.description ?? null,
          priority: input.priority ?? "MEDIUM",
          dueAt: input.dueAt ?? null,
          completed: false,
          createdAt: now,
          updatedAt: now,
        });
        return { snapshots };
      },
      onError(cause, _input, context) {
        restore(context?.snapshots);
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
        patchLists((task) => (task.id === id ? null : task));
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
