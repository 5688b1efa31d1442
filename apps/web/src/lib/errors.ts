import type { AppRouter } from "@tasks/api";
import { isTRPCClientError } from "@trpc/client";

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
  if (!error.data) return "Could not reach the server. Check your connection and try again.";
  if (error.data.code === "TOO_MANY_REQUESTS") {
    return "You are making requests too fast. Wait a minute and try again.";
  }
  const fieldErrors: Record<string, string[] | undefined> = error.data.zodError?.fieldErrors ?? {};
  const fields = Object.entries(fieldErrors).map(
    ([field, problems]) => `${field}: ${problems?.join(", ")}`,
  );
  return [error.message, ...fields].join(" ");
}
