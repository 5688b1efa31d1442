import { redirect } from "next/navigation";
import { AppHeader } from "../components/app-header.tsx";
import { TaskScreen } from "../components/task-screen.tsx";
import { filterFromParams, listInput, statsInput } from "../lib/tasks.ts";
import { getSession } from "../server/session.ts";
import { getQueryClient, HydrateClient, trpc } from "../trpc/server.tsx";

type SearchParams = Record<string, string | string[] | undefined>;

export default async function TasksPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const session = await getSession();
  if (!session) redirect("/sign-in");
  const params = await searchParams;
  const filter = filterFromParams({
    get: (name) => {
      const value = params[name];
      return (Array.isArray(value) ? value[0] : value) ?? null;
    },
  });
  // The first page of tasks, as the address filters and orders them, and the counts are in the
  // HTML; the client starts from them.
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchInfiniteQuery(
      trpc.task.list.infiniteQueryOptions(listInput(filter), {
        getNextPageParam: (page) => page.nextCursor,
      }),
    ),
    queryClient.prefetchQuery(trpc.task.stats.queryOptions()),
    Object.keys(statsInput(filter)).length > 0 &&
      queryClient.prefetchQuery(trpc.task.stats.queryOptions(statsInput(filter))),
  ]);
  return (
    <>
      <AppHeader name={session.user.name} />
      <main id="main">
        <HydrateClient>
          <TaskScreen />
        </HydrateClient>
      </main>
    </>
  );
}
