import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  appRouter,
  changeStreamResponse,
  clientAddress,
  countRateLimitRefusal,
  createAccounts,
  createContextFactory,
  createRestDocument,
  type LiveChanges,
  limitRequest,
  nameRoute,
  type RateLimiter,
  REST_PREFIX,
  rateLimitHeaders,
  rateLimitMessage,
  trpcCalls,
  trpcErrorBody,
  type VerifyToken,
} from "@tasks/api";
import { type Database, withDeadline } from "@tasks/db";
import type { TRPCError } from "@trpc/server";
import { createOpenApiNodeHttpHandler } from "trpc-to-openapi";
import type { Config } from "./config.ts";
import { databaseAnswers } from "./database.ts";
import type { Logger } from "./logger.ts";
import { observeRequest } from "./request-telemetry.ts";
import { serveDocs } from "./rest-docs.ts";
import { createTrpcHandler, send } from "./trpc-handler.ts";

export interface ServerDeps {
  config: Pick<
    Config,
    "corsOrigins" | "bodyLimitBytes" | "batchMaxCalls" | "knownUserTtlMs" | "requestTimeoutMs"
  > &
    Partial<Pick<Config, "rateLimits">>;
  database: Database;
  verifyToken: VerifyToken;
  /** Counts every tRPC and REST call; none: no rate limits. */
  rateLimiter?: RateLimiter | null;
  /** The process's live streams; none: live updates are refused. */
  live?: LiveChanges | null;
  logger: Logger;
}

const TRPC_PREFIX = "/trpc/";

/** The API over HTTP: tRPC under `/trpc`, REST under `/api`, plus `/health` and `/ready`. */
export function createApiServer({
  config,
  database,
  verifyToken,
  rateLimiter = null,
  live = null,
  logger,
}: ServerDeps): Server {
  /**
   * A request's token is verified once: by the rate limit, whose verdict (a failure too, e.g. the
   * identity provider's keys out of reach) the request's context takes up while it is answered.
   */
  const verifying = new Map<string, ReturnType<VerifyToken>>();
  const createContext = createContextFactory({
    db: database.client,
    verifyToken: (token) => verifying.get(token) ?? verifyToken(token),
    accounts: createAccounts(database.client, { knownTtlMs: config.knownUserTtlMs }),
    live,
  });
  /** The signed-in user of each request, for its log line. */
  const users = new WeakMap<IncomingMessage, string>();

  /** Both faces share the context (token check, user-scoped client) and the error logging. */
  const handlerOptions = {
    router: appRouter,
    maxBodySize: config.bodyLimitBytes,
    async createContext({ req }: { req: IncomingMessage }) {
      const ctx = await createContext({ authorization: req.headers.authorization });
      if (ctx.userId) users.set(req, ctx.userId);
      return ctx;
    },
    onError({ error, path }: { error: TRPCError; path?: string }) {
      if (error.code === "INTERNAL_SERVER_ERROR")
        logger.error({ err: error.cause ?? error, procedure: path }, "procedure failed");
      if (error.code === "SERVICE_UNAVAILABLE") {
        // The reason's message only (e.g. "connect ECONNREFUSED 10.0.0.5:5432"): never the
        // whole error, whose fields could hold the connection string.
        const cause = error.cause?.cause ?? error.cause;
        const reason = cause instanceof Error ? cause.message : undefined;
        logger.warn({ procedure: path, reason }, error.message);
      }
    },
  };
  /**
   * The rate limit, decided before any procedure runs: a refused request is answered here (429)
   * and reaches neither tRPC nor the REST adapter, so it runs no procedure and no query.
   */
  async function admit(
    req: IncomingMessage,
    res: ServerResponse,
    cost: number,
    refusal: (message: string) => string,
  ): Promise<boolean> {
    if (!rateLimiter) return true;
    const verifyOnce: VerifyToken = (token) => {
      const verdict = verifyToken(token);
      verifying.set(token, verdict);
      res.once("close", () => {
        if (verifying.get(token) === verdict) verifying.delete(token);
      });
      return verdict;
    };
    const decision = await limitRequest(rateLimiter, verifyOnce, {
      authorization: req.headers.authorization,
      address: clientAddress(
        req.socket.remoteAddress,
        req.headers["x-forwarded-for"],
        config.rateLimits?.trustedProxies ?? 0,
      ),
      cost,
    });
    if (!decision) return true;
    const headers = rateLimitHeaders(decision);
    if (decision.allowed) {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      return true;
    }
    countRateLimitRefusal(decision.policy);
    res
      .writeHead(429, { ...headers, "content-type": "application/json" })
      .end(refusal(rateLimitMessage(decision)));
    return false;
  }

  const trpc = createTrpcHandler({
    ...handlerOptions,
    maxBatchSize: config.batchMaxCalls,
    admit: (req, res, path, url) =>
      admit(req, res, trpcCalls(path, url), (message) =>
        trpcErrorBody("TOO_MANY_REQUESTS", message),
      ),
  });
  // The Node handler itself, not `createOpenApiHttpHandler`, which turns the request into a fetch
  // `Request` first: this one keeps `req` (its headers, the log's user) and limits the body alike.
  const rest = createOpenApiNodeHttpHandler(handlerOptions);
  const restDocument = JSON.stringify(createRestDocument());

  // Every request runs under its deadline, which each of its statements carries to PostgreSQL.
  const server = createServer((req, res) =>
    observeRequest(req, res, () => withDeadline(config.requestTimeoutMs, () => serve(req, res))),
  );

  async function serve(req: IncomingMessage, res: ServerResponse) {
    const started = performance.now();
    // Shutting down: a request on a kept-alive connection is still answered, then the connection
    // closes, so the client's next request goes to a new connection (refused, or another
    // instance) and shutdown does not wait out the grace period.
    if (!server.listening) res.setHeader("connection", "close");
    const requestId = incomingRequestId(req) ?? randomUUID();
    res.setHeader("x-request-id", requestId);
    const url = new URL(req.url ?? "/", "http://localhost");
    res.on("finish", () => {
      logger.info({
        requestId,
        method: req.method,
        path: url.pathname,
        procedure: url.pathname.startsWith(TRPC_PREFIX)
          ? url.pathname.slice(TRPC_PREFIX.length)
          : undefined,
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        userId: users.get(req),
      });
    });

    if (!allowCors(req, res, config.corsOrigins)) return;
    if (url.pathname === "/health") {
      nameRoute("/health");
      return json(res, 200, { status: "ok" });
    }
    if (url.pathname === "/ready") {
      nameRoute("/ready");
      const ready = await databaseAnswers(database);
      return json(res, ready ? 200 : 503, { status: ready ? "ready" : "unavailable" });
    }
    if (url.pathname.startsWith(TRPC_PREFIX)) {
      const path = url.pathname.slice(TRPC_PREFIX.length);
      nameRoute(trpcRoute(path));
      return trpc(req, res, path, url);
    }
    if (url.pathname === `${REST_PREFIX}/openapi.json`) {
      nameRoute(url.pathname);
      return json(res, 200, restDocument, true);
    }
    if (url.pathname.startsWith(`${REST_PREFIX}/docs`) && (await serveDocs(url.pathname, res))) {
      nameRoute(`${REST_PREFIX}/docs`);
      return;
    }
    if (url.pathname === `${REST_PREFIX}/tasks/events` && req.method === "GET") {
      nameRoute(url.pathname);
      return serveEvents(req, res, url);
    }
    if (url.pathname.startsWith(`${REST_PREFIX}/`)) {
      // The REST routes are declared without the prefix (it is the document's server URL).
      req.url = (req.url ?? "/").slice(REST_PREFIX.length);
      // The adapter parses a body only under exactly `application/json`; many HTTP clients
      // (Android's OkHttp among them) add `; charset=utf-8`, which is the same thing.
      if (/^application\/json;\s*charset=utf-8$/i.test(req.headers["content-type"] ?? "")) {
        req.headers["content-type"] = "application/json";
      }
      const refuse = (message: string) => JSON.stringify({ message, code: "TOO_MANY_REQUESTS" });
      if (!(await admit(req, res, 1, refuse))) return;
      return rest(req, res);
    }
    json(res, 404, { error: "Not found" });
  }
  /** The user's changes as plain server-sent events (the REST face of `task.changes`). */
  async function serveEvents(req: IncomingMessage, res: ServerResponse, url: URL) {
    const refuse = (message: string) => JSON.stringify({ message, code: "TOO_MANY_REQUESTS" });
    if (!(await admit(req, res, 1, refuse))) return;
    const ctx = await createContext({ authorization: req.headers.authorization });
    if (ctx.userId) users.set(req, ctx.userId);
    const ended = new AbortController();
    res.once("close", () => ended.abort());
    const header = req.headers["last-event-id"];
    const lastEventId = typeof header === "string" ? header : url.searchParams.get("lastEventId");
    await send(changeStreamResponse(ctx, { lastEventId, signal: ended.signal }), res);
  }
  return server;
}

const procedures = new Set(Object.keys(appRouter._def.procedures));

/**
 * A tRPC request's route, from a bounded set (a metric's label): the procedure's, or one for
 * every batch of several and one for every unknown path.
 */
function trpcRoute(path: string): string {
  if (procedures.has(path)) return `${TRPC_PREFIX}${path}`;
  return `${TRPC_PREFIX}${path.includes(",") ? "{batch}" : "{unknown}"}`;
}

/** A caller's request id is kept when it is a plausible id, so logs line up across services. */
function incomingRequestId(req: IncomingMessage): string | undefined {
  const value = req.headers["x-request-id"];
  return typeof value === "string" && /^[\w.-]{1,128}$/.test(value) ? value : undefined;
}

/** Sets CORS headers for allowed origins; answers preflights. Returns whether to go on. */
function allowCors(req: IncomingMessage, res: ServerResponse, origins: string[]): boolean {
  const origin = req.headers.origin;
  if (origin && origins.includes(origin)) {
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("vary", "Origin");
    res.setHeader(
      "access-control-allow-headers",
      "authorization, content-type, trpc-accept, x-request-id, last-event-id, cache-control",
    );
    res.setHeader("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    res.setHeader(
      "access-control-expose-headers",
      "x-request-id, ratelimit, ratelimit-policy, retry-after",
    );
    res.setHeader("access-control-max-age", "600");
  }
  if (req.method === "OPTIONS") {
    res.writeHead(204).end();
    return false;
  }
  return true;
}

function json(res: ServerResponse, status: number, body: unknown, serialized = false) {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(serialized ? (body as string) : JSON.stringify(body));
}
