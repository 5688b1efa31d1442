import type { AppRouter } from "@tasks/api";
import { createTRPCClient, httpBatchLink, retryLink, type TRPCClient } from "@trpc/client";
import superjson from "superjson";
import type { ApiTokenSource } from "../auth/api-token.ts";
import { isUnauthorized } from "../lib/errors.ts";

/**
 * A typed client of the API at `apiUrl`: every call carries the user's token
 * from `tokens`; a call the API refuses as unauthorized is sent once more with
 * a fresh token, so that an expired or revoked token costs the user nothing.
 */
export function createApiClient(
  apiUrl: string,
  tokens: ApiTokenSource,
  { batchMaxCalls = 20 }: { batchMaxCalls?: number } = {},
): TRPCClient<AppRouter> {
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
        // As many calls in one request as the API takes (BATCH_MAX_CALLS); more go in another.
        maxItems: batchMaxCalls,
        async headers() {
          const token = await tokens.get();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
}
