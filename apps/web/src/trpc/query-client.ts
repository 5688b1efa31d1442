import {
  defaultShouldDehydrateQuery,
  MutationCache,
  QueryCache,
  QueryClient,
} from "@tanstack/react-query";
import superjson from "superjson";
import { isClientError } from "../lib/errors.ts";

/**
 * One query cache, set up alike on the server and in the browser: data fresh
 * for a while (so the page the server rendered is not fetched again at once),
 * and dehydrated with the API's transformer, so that dates survive the hand-off.
 * `onError` sees every failed query and mutation once.
 */
export function createQueryClient({ onError }: { onError?: (error: Error) => void } = {}) {
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        // Asking again gets the same answer to the caller's own mistakes (4xx).
        retry: (failures, error) => failures < 2 && !isClientError(error),
      },
      dehydrate: {
        serializeData: superjson.serialize,
        // Pending queries too: the client picks up what the server started.
        shouldDehydrateQuery: (query) =>
          defaultShouldDehydrateQuery(query) || query.state.status === "pending",
      },
      hydrate: { deserializeData: superjson.deserialize },
    },
  });
}
