import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { type AppRouter, appRouter, type Context, createInnerContext } from "@tasks/api";
import { TRPCError } from "@trpc/server";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { cache, type ReactNode } from "react";
import { services } from "../server/services.ts";
import { getSession, identityOf } from "../server/session.ts";
import { createQueryClient } from "./query-client.ts";

/** One query cache per request. */
export const getQueryClient = cache(createQueryClient);

/**
 * The signed-in user's context for server components, from the session, with
 * no HTTP in between. Pages send signed-out visitors to sign in before they get here.
 */
const createContext = cache(async (): Promise<Context> => {
  const session = await getSession();
  if (!session) throw new TRPCError({ code: "UNAUTHORIZED", message: "Not signed in." });
  const { database, accounts } = await services();
  const identity = identityOf(session);
  await accounts.ensure(identity);
  return {
    ...createInnerContext({ userId: identity.userId, db: database.client }),
    deleteAccount: () => accounts.delete(identity.userId),
  };
});

/** `trpc.task.list.queryOptions(…)` and the like, answered in-process on the server. */
export const trpc = createTRPCOptionsProxy<AppRouter>({
  router: appRouter,
  ctx: createContext,
  queryClient: getQueryClient,
});

/** Hands the server's query cache to the client components below it. */
export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
