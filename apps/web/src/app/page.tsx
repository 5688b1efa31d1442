import { redirect } from "next/navigation";
import { AppHeader } from "../components/app-header.tsx";
import { TaskScreen } from "../components/task-screen.tsx";
import { listInput, NO_FILTER } from "../lib/tasks.ts";
import { getSession } from "../server/session.ts";
import { getQueryClient, HydrateClient, trpc } from "../trpc/server.tsx";

export default async function TasksPage() {
  const session = await getSession();
  if (!session) redirect("/sign-in");
  // The first page of tasks and the counts are in the HTML; the client starts from them.
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchInfiniteQuery(
      trpc.task.list.infiniteQueryOptions(listInput(NO_FILTER), {
        getNextPageParam: (page) => page.nextCursor,
      }),
    ),
    queryClient.prefetchQuery(trpc.task.stats.queryOptions()),
  ]);
  return (
    <>
      <AppHeader name={session.user.name} />
      <HydrateClient>
        <TaskScreen />
      </HydrateClient>
    </>
  );
}
