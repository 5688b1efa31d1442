import { appRouter, createRestDocument, REST_PREFIX } from "@tasks/api";
import { createOpenApiFetchHandler } from "trpc-to-openapi";
import { services } from "../../../server/services.ts";

/**
 * The REST face of the API inside the web app (`/api/tasks`, `/api/me`, …), for deployments
 * without the API server: the same procedures, token checks and errors as `/api/trpc`. Next
 * routes `/api/auth/*` and `/api/trpc/*` to their own, more specific, handlers.
 */

/** Larger bodies get 413, as from the API server with its default `BODY_LIMIT_BYTES`. */
const BODY_LIMIT_BYTES = 100 * 1024;

let document: string | undefined;

async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === `${REST_PREFIX}/openapi.json`) {
    document ??= JSON.stringify(createRestDocument());
    return new Response(document, { headers: { "content-type": "application/json" } });
  }
  const body = request.body ? await readBody(request) : undefined;
  if (body === null) {
    return Response.json(
      { message: "Request body too large", code: "PAYLOAD_TOO_LARGE" },
      { status: 413 },
    );
  }
  const { createApiContext } = await services();
  // The adapter strips the first `/api` of the whole URL, so the host must not hold one.
  const local = new Request(new URL(`${url.pathname}${url.search}`, "http://localhost"), {
    method: request.method,
    headers: request.headers,
    body,
  });
  return createOpenApiFetchHandler({
    endpoint: REST_PREFIX,
    router: appRouter,
    req: local,
    createContext: () =>
      createApiContext({ authorization: request.headers.get("authorization") ?? undefined }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        console.error(`procedure ${path} failed:`, error.cause ?? error);
      }
    },
  });
}

/** The body, or null when it is over the limit (counted as it arrives, not as announced). */
async function readBody(request: Request): Promise<ArrayBuffer | null> {
  if (Number(request.headers.get("content-length") ?? 0) > BODY_LIMIT_BYTES) return null;
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > BODY_LIMIT_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return new Blob(chunks as BlobPart[]).arrayBuffer();
}

export { handler as DELETE, handler as GET, handler as PATCH, handler as POST, handler as PUT };
