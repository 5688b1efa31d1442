import type { OpenApiMeta, OpenApiMethod } from "trpc-to-openapi";
import type { z } from "zod";

/** Where the REST face of the procedures is mounted, by the server and by the web app alike. */
export const REST_PREFIX = "/api";

/**
 * The errors every REST route can answer, as the one error mapping (`errors.ts`) produces them.
 * Never 403: another user's task is a 404, like a missing one.
 */
const ERROR_RESPONSES = {
  400: "Invalid input: `issues` and `data.zodError.fieldErrors` name the fields",
  401: "Missing, malformed, expired or wrongly signed token",
  404: "No such task (or someone else's)",
  413: "Request body too large",
  500: "Internal server error",
  503: "The database or the sign-in keys are unavailable; try again shortly",
};

/** A procedure's REST method and path under `/api`, with the bearer token required. */
export function rest(
  method: OpenApiMethod,
  path: `/${string}`,
  summary: string,
  extra: { description?: string } = {},
): OpenApiMeta {
  return {
    openapi: {
      method,
      path,
      summary,
      protect: true,
      tags: [path.startsWith("/me") ? "account" : "tasks"],
      errorResponses: ERROR_RESPONSES,
      ...extra,
    },
  };
}

/** A Prisma `select` of exactly the fields of a result schema, so that the two cannot drift. */
export function selectOf<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  return Object.fromEntries(Object.keys(schema.shape).map((key) => [key, true])) as {
    [Key in keyof Shape]: true;
  };
}
