import type { AppRouter } from "@tasks/api";
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  type TRPCClient,
  type TRPCClientError,
  type TRPCLink,
} from "@trpc/client";
import { observable, type Unsubscribable } from "@trpc/server/observable";
import { EventSource } from "eventsource";
import superjson from "superjson";
import type { ApiTokenSource } from "../auth/api-token.ts";
import { isUnauthorized } from "../lib/errors.ts";

/** How many times in a row a subscription refused for its token subscribes again. */
const SUBSCRIPTION_RENEWALS = 3;
/** The longest wait before a failed subscription subscribes again. */
const MAX_RESUBSCRIBE_WAIT_MS = 30_000;

/**
 * A typed client of the API at `apiUrl`: every call carries the user's token
 * from `tokens`; a call the API refuses as unauthorized is sent once more with
 * a fresh token, so that an expired or revoked token costs the user nothing.
 * Subscriptions go over server-sent events, with the token in a header of every
 * (re)connection, never in the URL.
 */
export function createApiClient(
  apiUrl: string,
  tokens: ApiTokenSource,
  { batchMaxCalls = 20 }: { batchMaxCalls?: number } = {},
): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: [
          resubscribeLink(tokens),
          httpSubscriptionLink({
            url: apiUrl,
            transformer: superjson,
            // EventSource cannot send headers; this one calls `fetch` on every (re)connection.
            EventSource,
            eventSourceOptions: () => ({
              fetch: async (input, init) => {
                const token = await tokens.get();
                return fetch(input, {
                  ...init,
                  headers: {
                    ...init.headers,
                    ...(token ? { authorization: `Bearer ${token}` } : {}),
                  },
                });
              },
            }),
          }),
        ],
        false: [
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
            // A deletion is sent when its time to undo is up, or at once when the page is left
            // (`useUndoableDelete`): `keepalive` lets it outlive the page. Only deletions, whose
            // bodies are small, so as to stay within the browser's 64 KiB for such requests.
            fetch: (url, init) =>
              fetch(url, { ...init, keepalive: /\/task\.delete(\?|$)/.test(String(url)) }),
            async headers() {
              const token = await tokens.get();
              return token ? { authorization: `Bearer ${token}` } : {};
            },
          }),
        ],
      }),
    ],
  });
}

/**
 * A subscription that fails subscribes again, from its last event, waiting longer each time (up
 * to MAX_RESUBSCRIBE_WAIT_MS): after a refusal that EventSource gives up on (429, a proxy's 502,
 * …), and with a fresh token after one for its token, at most SUBSCRIPTION_RENEWALS times in a
 * row (an event in between starts both counts afresh, since a stream lives longer than its
 * tokens); past that, the session is over.
 */
function resubscribeLink(tokens: ApiTokenSource): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let refusals = 0;
        let failures = 0;
        let lastEventId: string | undefined;
        let current: Unsubscribable | undefined;
        let timer: ReturnType<typeof setTimeout> | undefined;
        function subscribe() {
          const input = lastEventId ? { ...(op.input ?? {}), lastEventId } : op.input;
          current = next({ ...op, input }).subscribe({
            next(envelope) {
              const { result } = envelope;
              if ((!result.type || result.type === "data") && result.id) {
                lastEventId = result.id;
                refusals = 0;
                failures = 0;
              }
              observer.next(envelope);
            },
            error(error) {
              // Live updates are off on this server: nothing to come back for.
              if (error.data?.code === "METHOD_NOT_SUPPORTED") {
                observer.error(error);
                return;
              }
              if (refused(error)) {
                if (refusals >= SUBSCRIPTION_RENEWALS) {
                  observer.error(error);
                  return;
                }
                refusals++;
                tokens.expire();
              }
              const wait = Math.min(250 * 2 ** failures++, MAX_RESUBSCRIBE_WAIT_MS);
              timer = setTimeout(subscribe, wait);
            },
            complete: () => observer.complete(),
          });
        }
        subscribe();
        return () => {
          clearTimeout(timer);
          current?.unsubscribe();
        };
      });
}

/** UNAUTHORIZED in the stream, or a 401 before it (the EventSource's error carries the status). */
function refused(error: TRPCClientError<AppRouter>): boolean {
  return isUnauthorized(error) || (error.cause as { code?: unknown } | undefined)?.code === 401;
}
