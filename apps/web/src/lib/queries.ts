import {
  MutationCache,
  QueryCache,
  QueryClient,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import type { RouterInputs, RouterOutputs } from "@tasks/api";
import { errorMessage, isClientError, isUnauthorized, useApi } from "./api.ts";

export type Task = RouterOutputs["task"]["list"]["items"][number];
export type NewTask = RouterInputs["task"]["create"];

const PAGE_SIZE = 20;

/** Every query of tasks starts with this key, so one invalidation refreshes the list and stats. */
const TASKS = ["task"] as const;

/** A cache for one signed-in session; a rejected token ends the session. */
export function createQueryClient(onUnauthorized: (message: string) => void): QueryClient {
  const onError = (error: Error) => {
    if (isUnauthorized(error)) onUnauthorized(errorMessage(error));
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: { retry: (failures, error) => failures < 2 && !isClientError(error) },
    },
  });
}

export function useMe() {
  const api = useApi();
  return useQuery({ queryKey: ["user", "me"], queryFn: () => api.user.me.query() });
}

export function useTaskStats() {
  const api = useApi();
  return useQuery({ queryKey: [...TASKS, "stats"], queryFn: () => api.task.stats.query() });
}

/** The user's tasks, newest first, a page at a time. */
export function useTaskList() {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: [...TASKS, "list"],
    queryFn: ({ pageParam }) =>
      api.task.list.query({ limit: PAGE_SIZE, cursor: pageParam ?? undefined }),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
  });
}

/** A mutation that stays pending until the tasks shown are fresh again. */
function useTaskMutation<TInput, TOutput>(mutationFn: (input: TInput) => Promise<TOutput>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: TASKS }),
  });
}

export function useCreateTask() {
  const api = useApi();
  return useTaskMutation((task: NewTask) => api.task.create.mutate(task));
}

export function useSetCompleted() {
  const api = useApi();
  return useTaskMutation((input: { id: string; completed: boolean }) =>
    api.task.update.mutate(input),
  );
}

export function useDeleteTask() {
  const api = useApi();
  return useTaskMutation((id: string) => api.task.delete.mutate({ id }));
}
