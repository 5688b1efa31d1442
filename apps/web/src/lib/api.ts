import type { AppRouter } from "@tasks/api";
import { createTRPCClient, httpBatchLink, isTRPCClientError, type TRPCClient } from "@trpc/client";
import { createContext, use } from "react";
import superjson from "superjson";

export type ApiClient = TRPCClient<AppRouter>;

/** A typed client of the API at `url` that sends `token` with every call. */
export function createApiClient(url: string, token: string): ApiClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url,
        transformer: superjson,
        headers: { authorization: `Bearer ${token}` },
      }),
    ],
  });
}

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const api = use(ApiContext);
  if (!api) throw new Error("useApi: no ApiContext above this component.");
  return api;
}

export function isUnauthorized(error: unknown): boolean {
  return isTRPCClientError<AppRouter>(error) && error.data?.code === "UNAUTHORIZED";
}

/** The caller's own mistake (4xx): asking again would get the same answer. */
export function isClientError(error: unknown): boolean {
  return isTRPCClientError<AppRouter>(error) && (error.data?.httpStatus ?? 500) < 500;
}

/** What went wrong, for people: the API's message, with the fields it rejected. */
export function errorMessage(error: unknown): string {
  if (!isTRPCClientError<AppRouter>(error)) {
    return error instanceof Error ? error.message : "Something went wrong.";
  }
  // No error data: the request never got an answer from the API.
  if (!error.data) return `Could not reach the API (${error.message}).`;
  const fieldErrors: Record<string, string[] | undefined> = error.data.zodError?.fieldErrors ?? {};
  const fields = Object.entries(fieldErrors).map(
    ([field, problems]) => `${field}: ${problems?.join(", ")}`,
  );
  return [error.message, ...fields].join(" ");
}
