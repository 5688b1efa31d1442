import { appRouter, oversizedBatch, trpcCalls, trpcErrorBody } from "@tasks/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { OWN_API_PATH } from "../../../../env.ts";
import { readBody, withBody } from "../../../../server/body.ts";
import { withRequestDeadline } from "../../../../server/deadline.ts";
import { log } from "../../../../server/log.ts";
import { rateLimit, withHeaders } from "../../../../server/rate-limit.ts";
import { services } from "../../../../server/services.ts";

const json = { "content-type": "application/json" };

/**
 * The API inside the web app, for deployments without the API server: the same
 * router and the same token checks, against Better Auth's JWKS.
 */
async function handler(request: Request): Promise<Response> {
  const running = await services();
  const { config, createApiContext } = running;
  const url = new URL(request.url);
  // The same limits as the API server's: BATCH_MAX_CALLS and BODY_LIMIT_BYTES.
  const path = url.pathname.slice(OWN_API_PATH.length + 1);
  const refused = oversizedBatch(path, url, config.batchMaxCalls);
  if (refused) return new Response(refused, { status: 400, headers: json });
  // RATE_LIMIT_*: a batch of N calls costs N; a refused request runs nothing.
  const limited = await rateLimit(running, request, trpcCalls(path, url), (message) =>
    trpcErrorBody("TOO_MANY_REQUESTS", message),
  );
  if (limited.refused) return limited.refused;
  const body = request.body ? await readBody(request, config.bodyLimitBytes) : undefined;
  if (body === null) {
    const message = `The request body is over ${config.bodyLimitBytes} bytes (BODY_LIMIT_BYTES).`;
    return new Response(trpcErrorBody("PAYLOAD_TOO_LARGE", message), {
      status: 413,
      headers: json,
    });
  }
  // A live stream ends after LIVE_STREAM_MAX_SECONDS (serverless platforms cut longer responses):
  // aborting its request ends it without tRPC's "return" event, so the browser's EventSource
  // reconnects and resumes from its last event id.
  const streamLimit = new AbortController();
  const signal = AbortSignal.any([request.signal, streamLimit.signal]);
  const response = await fetchRequestHandler({
    endpoint: OWN_API_PATH,
    router: appRouter,
    req: withBody(request, url, body, signal),
    maxBatchSize: config.batchMaxCalls,
    createContext: () =>
      createApiContext({ authorization: request.headers.get("authorization") ?? undefined }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        log.error({ err: error.cause ?? error, procedure: path }, "procedure failed");
      }
    },
  });
  if (config.live.streamMaxMs > 0 && isEventStream(response)) {
    setTimeout(() => streamLimit.abort(), config.live.streamMaxMs);
  }
  return withHeaders(response, limited.headers);
}

function isEventStream(response: Response): boolean {
  return response.headers.get("content-type")?.startsWith("text/event-stream") ?? false;
}

const deadlined = withRequestDeadline(handler);

export { deadlined as GET, deadlined as POST };
