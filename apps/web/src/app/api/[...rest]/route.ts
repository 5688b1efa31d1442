import { appRouter, changeStreamResponse, createRestDocument, REST_PREFIX } from "@tasks/api";
import { createOpenApiFetchHandler } from "trpc-to-openapi";
import { readBody, withBody } from "../../../server/body.ts";
import { withRequestDeadline } from "../../../server/deadline.ts";
import { log } from "../../../server/log.ts";
import { rateLimit, withHeaders } from "../../../server/rate-limit.ts";
import { services } from "../../../server/services.ts";

/**
 * The REST face of the API inside the web app (`/api/tasks`, `/api/me`, …), for deployments
 * without the API server: the same procedures, token checks and errors as `/api/trpc`. Next
 * routes `/api/auth/*` and `/api/trpc/*` to their own, more specific, handlers.
 */

let document: string | undefined;

async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === `${REST_PREFIX}/openapi.json`) {
    document ??= JSON.stringify(createRestDocument());
    return new Response(document, { headers: { "content-type": "application/json" } });
  }
  const running = await services();
  const { config, createApiContext } = running;
  // RATE_LIMIT_*, as on the API server: a refused request runs nothing.
  const limited = await rateLimit(running, request, 1, (message) =>
    JSON.stringify({ message, code: "TOO_MANY_REQUESTS" }),
  );
  if (limited.refused) return limited.refused;
  if (url.pathname === `${REST_PREFIX}/tasks/events` && request.method === "GET") {
    return withHeaders(await changeStream(request, url, running), limited.headers);
  }
  // Larger bodies get 413, as from the API server (BODY_LIMIT_BYTES).
  const body = request.body ? await readBody(request, config.bodyLimitBytes) : undefined;
  if (body === null) {
    return Response.json(
      { message: "Request body too large", code: "PAYLOAD_TOO_LARGE" },
      { status: 413 },
    );
  }
  // The adapter strips the first `/api` of the whole URL, so the host must not hold one.
  const local = withBody(
    request,
    new URL(`${url.pathname}${url.search}`, "http://localhost"),
    body,
  );
  const response = await createOpenApiFetchHandler({
    endpoint: REST_PREFIX,
    router: appRouter,
    req: local,
    createContext: () =>
      createApiContext({ authorization: request.headers.get("authorization") ?? undefined }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        log.error({ err: error.cause ?? error, procedure: path }, "procedure failed");
      }
    },
  });
  return withHeaders(response, limited.headers);
}

/**
 * The user's changes as plain server-sent events, as the API server serves them; ended after
 * LIVE_STREAM_MAX_SECONDS like the tRPC stream, and resumed by the client with `Last-Event-ID`.
 */
async function changeStream(
  request: Request,
  url: URL,
  { config, createApiContext }: Awaited<ReturnType<typeof services>>,
): Promise<Response> {
  const ctx = await createApiContext({
    authorization: request.headers.get("authorization") ?? undefined,
  });
  const streamLimit = new AbortController();
  const signal = AbortSignal.any([request.signal, streamLimit.signal]);
  if (config.live.streamMaxMs > 0) {
    const timer = setTimeout(() => streamLimit.abort(), config.live.streamMaxMs);
    signal.addEventListener("abort", () => clearTimeout(timer));
  }
  const lastEventId = request.headers.get("last-event-id") ?? url.searchParams.get("lastEventId");
  return changeStreamResponse(ctx, { lastEventId, signal });
}

const deadlined = withRequestDeadline(handler);

export {
  deadlined as DELETE,
  deadlined as GET,
  deadlined as PATCH,
  deadlined as POST,
  deadlined as PUT,
};
