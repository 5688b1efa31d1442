import { getTRPCErrorShape, TRPCError, transformTRPCResponse } from "@trpc/server";
import { appRouter } from "./root.ts";

/**
 * An error answer in tRPC's own format (as `resolveResponse` writes one), for limits a handler
 * checks before tRPC reads the request: the client's link reports it on every call.
 */
export function trpcErrorBody(code: TRPCError["code"], message: string): string {
  const config = appRouter._def._config;
  const shape = getTRPCErrorShape({
    config,
    error: new TRPCError({ code, message }),
    type: "unknown",
    path: undefined,
    input: undefined,
    ctx: undefined,
  });
  return JSON.stringify(transformTRPCResponse(config, { error: shape }));
}

/**
 * The 400 for a request that batches more than `max` calls, naming the limit (the message of
 * tRPC's own `maxBatchSize` check does not); null when within it. Asked before tRPC reads the
 * request, so an oversized batch runs nothing.
 */
export function oversizedBatch(path: string, url: URL, max: number): string | null {
  if (url.searchParams.get("batch") !== "1") return null;
  const calls = path.split(",").length;
  if (calls <= max) return null;
  return trpcErrorBody(
    "BAD_REQUEST",
    `A request may batch at most ${max} calls (BATCH_MAX_CALLS); this one has ${calls}.`,
  );
}
