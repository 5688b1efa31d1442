import { QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { ApiContext, createApiClient } from "../lib/api.ts";
import { createQueryClient } from "../lib/queries.ts";
import { Account } from "./account.tsx";
import { NewTaskForm } from "./new-task-form.tsx";
import { TaskList } from "./task-list.tsx";
import { TaskStats } from "./task-stats.tsx";

interface SessionProps {
  apiUrl: string;
  token: string;
  /** Must keep its identity: the session's cache holds on to the first one. */
  onSignOut(reason?: string): void;
}

/** One signed-in user's view, with an API client and a query cache of its own. */
export function Session({ apiUrl, token, onSignOut }: SessionProps) {
  const [api] = useState(() => createApiClient(apiUrl, token));
  const [queryClient] = useState(() => createQueryClient(onSignOut));

  return (
    <ApiContext value={api}>
      <QueryClientProvider client={queryClient}>
        <header className="header">
          <h1>Tasks</h1>
          <Account onSignOut={() => onSignOut()} />
        </header>
        <TaskStats />
        <NewTaskForm />
        <TaskList />
      </QueryClientProvider>
    </ApiContext>
  );
}
