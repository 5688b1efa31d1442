"use client";

import { QueryClientProvider } from "@tanstack/react-query";
import type { AppRouter } from "@tasks/api";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { type ReactNode, useState } from "react";
import { createApiTokenSource, fetchBetterAuthToken } from "../auth/api-token.ts";
import { isUnauthorized } from "../lib/errors.ts";
import { createApiClient } from "./api-client.ts";
import { createQueryClient } from "./query-client.ts";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

/** Still refused after a fresh token: the session is over (signed out elsewhere, deleted). */
export function endSessionIfRefused(error: unknown) {
  if (isUnauthorized(error)) window.location.assign("/sign-in?ended=1");
}

/** The browser's query cache and API client, for the client components below. */
export function TRPCReactProvider({
  apiUrl,
  batchMaxCalls,
  children,
}: {
  apiUrl: string;
  /** The API's BATCH_MAX_CALLS: larger batches are split, never refused. */
  batchMaxCalls: number;
  children: ReactNode;
}) {
  const [queryClient] = useState(() => createQueryClient({ onError: endSessionIfRefused }));
  const [trpcClient] = useState(() =>
    createApiClient(apiUrl, createApiTokenSource(fetchBetterAuthToken), { batchMaxCalls }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
