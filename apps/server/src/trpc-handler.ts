import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { oversizedBatch } from "@tasks/api";
import type { AnyTRPCRouter, inferRouterContext, TRPCError } from "@trpc/server";
import {
  incomingMessageToRequest,
  internal_exceptionHandler,
} from "@trpc/server/adapters/node-http";
import { resolveResponse } from "@trpc/server/http";

export interface TrpcHandlerOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  maxBodySize: number;
  /** The most calls one request may batch; an oversized batch is a 400 and runs nothing. */
  maxBatchSize: number;
  createContext(opts: { req: IncomingMessage }): Promise<inferRouterContext<TRouter>>;
  onError(opts: { error: TRPCError; path?: string }): void;
  /**
   * Asked after the batch check and before tRPC reads the request: false when it has answered
   * the request itself (e.g. 429), which then runs nothing.
   */
  admit?(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<boolean>;
}

/**
 * tRPC's Node adapter (what `createHTTPHandler` does), built from the parts tRPC exports for
 * adapters, except that a JSON answer is sent in one piece with its `Content-Length`.
 *
 * tRPC's own adapter pipes every answer through a WHATWG `WritableStream` into a chunked
 * response, even one it made from a single string. Streamed answers (JSON Lines, server-sent
 * events) are still streamed.
 */
export function createTrpcHandler<TRouter extends AnyTRPCRouter>(
  options: TrpcHandlerOptions<TRouter>,
) {
  const { router, maxBodySize, maxBatchSize, createContext, onError, admit } = options;
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    url: URL,
  ): Promise<void> => {
    const refused = oversizedBatch(path, url, maxBatchSize);
    if (refused) {
      res.writeHead(400, { "content-type": "application/json" }).end(refused);
      return;
    }
    if (admit && !(await admit(req, res, path, url))) return;
    try {
      const request = incomingMessageToRequest(req, res, { maxBodySize });
      const response = await resolveResponse({
        router,
        req: request,
        path,
        maxBatchSize,
        createContext: () => createContext({ req }),
        onError,
        error: null,
      });
      await send(response, res);
    } catch (cause) {
      internal_exceptionHandler({ router, req, res, path, onError, createContext })(cause);
    }
  };
}

/** Sends a fetch `Response` on a Node response: JSON in one piece, streams as they come. */
export async function send(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  for (const [key, value] of response.headers) {
    if (key !== "set-cookie") res.setHeader(key, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  // tRPC marks a streamed answer: chunked JSON Lines (a streaming batch) or server-sent events.
  const streamed =
    response.headers.get("transfer-encoding") === "chunked" ||
    response.headers.get("content-type") === "text/event-stream";
  if (!streamed) {
    const body = Buffer.from(await response.arrayBuffer());
    res.setHeader("content-length", body.byteLength);
    res.end(body);
    return;
  }
  try {
    await pipeline(Readable.fromWeb(response.body as ReadableStream), res);
  } catch {
    // The client went away mid-stream; tRPC sees the request's abort signal and stops.
  }
}
