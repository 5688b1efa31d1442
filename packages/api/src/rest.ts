import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";
import { appRouter } from "./root.ts";

/** Where the REST face of the procedures is mounted, by the server and by the web app alike. */
export const REST_PREFIX = "/api";

/**
 * The OpenAPI 3.1 document of the REST routes, generated from the procedures' `meta`, input and
 * output schemas: the routers stay the one definition of both APIs.
 */
export function createRestDocument(): OpenAPIObject {
  return generateOpenApiDocument(appRouter, {
    title: "Tasks API",
    version: "1.0.0",
    description:
      "Each signed-in user's tasks, as plain JSON. Send `Authorization: Bearer <JWT>`. Dates are " +
      "ISO 8601 strings. `PUT /tasks/{id}` means the same as `PATCH` (fields not sent stay). " +
      "Lists page by the opaque `cursor` of the previous page's `nextCursor`.",
    baseUrl: REST_PREFIX,
    securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
  });
}
