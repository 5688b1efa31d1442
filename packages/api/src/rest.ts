import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";
import { REST_PREFIX } from "./rest-meta.ts";
import { appRouter } from "./root.ts";

export { REST_PREFIX };

/**
 * The OpenAPI 3.1 document of the REST routes, generated from the procedures' `meta`, input and
 * output schemas: the routers stay the one definition of both APIs.
 */
export function createRestDocument(): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: "Tasks API",
    version: "1.0.0",
    description:
      "Each signed-in user's tasks, as plain JSON. Send `Authorization: Bearer <JWT>`. Dates are " +
      "ISO 8601 strings. `PUT /tasks/{id}` means the same as `PATCH` (fields not sent stay). " +
      "Lists page by the opaque `cursor` of the previous page's `nextCursor`.",
    baseUrl: REST_PREFIX,
    securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
  });
  // The change stream is served beside the procedures (tRPC's `task.changes` over plain SSE).
  document.paths = { ...document.paths, "/tasks/events": changeStreamPath };
  titleErrorSchemas(document);
  describeParameters(document);
  return document;
}

/** A parameter's description is its schema's (zod-openapi leaves it there, where UIs miss it). */
function describeParameters(document: OpenAPIObject) {
  for (const path of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(path)) {
      if (typeof operation !== "object" || !("parameters" in operation)) continue;
      for (const parameter of operation.parameters ?? []) {
        if ("$ref" in parameter || parameter.description) continue;
        const schema = parameter.schema;
        if (schema && !("$ref" in schema) && schema.description) {
          parameter.description = schema.description;
        }
      }
    }
  }
}

/**
 * trpc-to-openapi titles each error schema `<the response's description> error (<status>)`,
 * which Swagger UI shows as "Internal server error error (500)" or "Request body too large error
 * (413)". The titles name the error instead ("Internal server error (500)", "Not found (404)");
 * the responses keep their own descriptions.
 */
function titleErrorSchemas(document: OpenAPIObject) {
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
    const code = /^error\.([A-Z_]+)$/.exec(name)?.[1];
    if (!code || "$ref" in schema) continue;
    const status = /\((\d{3})\)$/.exec(schema.title ?? "")?.[1];
    const words = code.toLowerCase().replaceAll("_", " ");
    schema.title = `${words.charAt(0).toUpperCase()}${words.slice(1)}${status ? ` (${status})` : ""}`;
  }
}

const changeStreamPath: NonNullable<OpenAPIObject["paths"]>[string] = {
  get: {
    operationId: "task-events",
    summary: "Follow your changes as server-sent events",
    description:
      "A `text/event-stream` of the caller's changes as they are committed, in order. Each " +
      "event is named after its kind (`created`, `updated`, `deleted`, `account_deleted`, " +
      "`refetch`), carries the change's number as `id` and its JSON as `data`: `{ kind, task }` " +
      "for created and updated (the task as `GET /tasks/{id}` returns it), `{ kind, id }` for " +
      "deleted. A new stream starts with `refetch` (load what you show, then apply what follows). " +
      "Reconnect with `Last-Event-ID` (EventSource does) to get every change missed; from " +
      "further back than the retention window (`LIVE_RETENTION_SECONDS`) the stream starts with " +
      "`refetch` instead. Comments (`: ping`) keep idle streams open; an `error` event " +
      "(`{ code, message }`) ends one. Too many open streams of one user: 429.",
    tags: ["task"],
    security: [{ bearer: [] }],
    parameters: [
      {
        name: "Last-Event-ID",
        in: "header",
        required: false,
        description: "The `id` of the last event received, to resume after it.",
        schema: { type: "string", pattern: "^\\d{1,10}$" },
      },
    ],
    responses: {
      "200": {
        description: "The stream (it stays open).",
        content: { "text/event-stream": { schema: { type: "string" } } },
      },
      "401": { description: "No valid token." },
      "429": { description: "Too many open streams of this user (`LIVE_STREAMS_PER_USER`)." },
    },
  },
};
