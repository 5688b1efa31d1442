import { withDeadline } from "@tasks/db";
import { services } from "./services.ts";

/** Runs a route handler under the request deadline (REQUEST_TIMEOUT_MS), as the API server does. */
export function withRequestDeadline(handler: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    const { config } = await services();
    return withDeadline(config.requestTimeoutMs, () => handler(request));
  };
}
