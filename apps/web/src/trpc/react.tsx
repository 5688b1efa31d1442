"use client";

import { QueryClientProvider } from "@tanstack/react-query";
import type { AppRouter } from "@tasks/api";
import { createTRPCClient, httpBatchLink, retryLink, type TRPCClient } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { type ReactNode, useState } from "react";
import superjson from "superjson";
import { createApiTokenSource, fetchBetterAuthToken } from "../auth/api-token.ts";
import { isUnauthorized } from "../lib/errors.ts";
import { createQueryClient } from "./query-client.ts";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

/**
 * The API client of the browser: every call carries the user's Better Auth JWT,
 * refreshed before it expires; a call the API refuses as unauthorized is sent
 * once more with a fresh token, and only then is the user sent to sign in.
 */
function createApiClient(apiUrl: string): TRPCClient<AppRouter> {
  const tokens = createApiTokenSource(fetchBetterAuthToken);
  return createTRPCClient<AppRouter>({
    links: [
      retryLink({
        retry({ error, attempts }) {
          if (attempts > 1 || !isUnauthorized(error)) return false;
          tokens.expire();
          return true;
        },
      }),
      httpBatchLink({
        url: apiUrl,
        transformer: superjson,
        async headers() {
          const token = await tokens.get();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
}

/** The session is over (signed out elsewhere, expired, account deleted): sign in again. */
function onError(error: Error) {
  if (isUnauthorized(error)) window.location.assign("/sign-in?ended=1");
}

export function TRPCReactProvider({ apiUrl, children }: { apiUrl: string; children: ReactNode }) {
  const [queryClient] = useState(() => createQueryClient({ onError }));
  const [trpcClient] = useState(() => createApiClient(apiUrl));
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
