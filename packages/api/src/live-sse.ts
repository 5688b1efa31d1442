import { TRPCError, type TrackedEnvelope } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { LiveChange, LiveChanges } from "./live.ts";
import type { Context } from "./trpc.ts";

/** How often an idle plain stream sends a comment, so that proxies keep it open. */
const PING_MS = 15_000;

/**
 * The answer to `GET /api/tasks/events`, on the API server and in the web app alike: the
 * caller's change stream, or why not, as the REST face's JSON error (401, 404 where live updates
 * are off, 429 or 503 past the limits).
 */
export function changeStreamResponse(
  ctx: Context,
  { lastEventId, signal }: { lastEventId: string | null; signal: AbortSignal },
): Response {
  const refused = !ctx.userId
    ? (ctx.authError ??
      new TRPCError({ code: "UNAUTHORIZED", message: "Sign in with a Bearer token." }))
    : !ctx.live
      ? new TRPCError({ code: "NOT_FOUND", message: "Live updates are off here." })
      : ctx.live.refusal(ctx.userId);
  if (refused || !ctx.userId || !ctx.live) {
    const error = refused ?? new TRPCError({ code: "INTERNAL_SERVER_ERROR" });
    return Response.json(
      { message: error.message, code: error.code },
      { status: getHTTPStatusCodeFromError(error) },
    );
  }
  const stream = plainChangeStream(ctx.live, ctx.userId, lastEventId, signal, ctx.tokenExpiresAt);
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}

/**
 * A user's changes as plain server-sent events, for clients without tRPC: each change is an
 * event named after its kind, with its number as `id` (sent back as `Last-Event-ID` on
 * reconnection) and its JSON as `data`. An error ends the stream with an `error` event.
 */
export function plainChangeStream(
  live: LiveChanges,
  userId: string,
  lastEventId: string | null | undefined,
  signal: AbortSignal,
  /** When the caller's token expires (ms since the epoch): the stream ends then. */
  until?: number,
): ReadableStream<Uint8Array> {
  const changes = live.follow(userId, lastEventId, signal, until);
  const encoder = new TextEncoder();
  let ping: NodeJS.Timeout | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // A new stream's first lines: how long a client waits before reconnecting.
      controller.enqueue(encoder.encode("retry: 2000\n\n"));
      ping = setInterval(() => controller.enqueue(encoder.encode(": ping\n\n")), PING_MS);
      ping.unref();
    },
    async pull(controller) {
      try {
        const next = await changes.next();
        if (next.done) {
          clearInterval(ping);
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(format(next.value)));
      } catch (error) {
        clearInterval(ping);
        const { code, message } = error as TRPCError;
        if (!signal.aborted) {
          controller.enqueue(
            encoder.encode(`event: error\ndata: ${JSON.stringify({ code, message })}\n\n`),
          );
        }
        controller.close();
      }
    },
    async cancel() {
      clearInterval(ping);
      await changes.return(undefined);
    },
  });
}

function format([id, change]: TrackedEnvelope<LiveChange>): string {
  return `id: ${id}\nevent: ${change.kind}\ndata: ${JSON.stringify(change)}\n\n`;
}
