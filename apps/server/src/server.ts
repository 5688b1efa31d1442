import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { appRouter, createAccounts, createContextFactory, type VerifyToken } from "@tasks/api";
import type { Database } from "@tasks/db";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { Config } from "./config.ts";
import { databaseAnswers } from "./database.ts";
import type { Logger } from "./logger.ts";

export interface ServerDeps {
  config: Pick<Config, "corsOrigins" | "bodyLimitBytes" | "knownUserTtlMs">;
  database: Database;
  verifyToken: VerifyToken;
  logger: Logger;
}

const TRPC_PREFIX = "/trpc/";

/** The API over HTTP: tRPC under `/trpc`, plus `/health` and `/ready`. */
export function createApiServer({ config, database, verifyToken, logger }: ServerDeps): Server {
  const createContext = createContextFactory({
    db: database.client,
    verifyToken,
    accounts: createAccounts(database.client, { knownTtlMs: config.knownUserTtlMs }),
  });
  /** The signed-in user of each request, for its log line. */
  const users = new WeakMap<IncomingMessage, string>();

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: TRPC_PREFIX,
    maxBodySize: config.bodyLimitBytes,
    async createContext({ req }) {
      const ctx = await createContext({ authorization: req.headers.authorization });
      if (ctx.userId) users.set(req, ctx.userId);
      return ctx;
    },
    onError({ error, path }) {
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
  });

  const server = createServer(async (req, res) => {
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
    if (url.pathname === "/health") return json(res, 200, { status: "ok" });
    if (url.pathname === "/ready") {
      const ready = await databaseAnswers(database);
      return json(res, ready ? 200 : 503, { status: ready ? "ready" : "unavailable" });
    }
    if (url.pathname.startsWith(TRPC_PREFIX)) return trpc(req, res);
    json(res, 404, { error: "Not found" });
  });
  return server;
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
      "authorization, content-type, trpc-accept, x-request-id",
    );
    res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
    res.setHeader("access-control-expose-headers", "x-request-id");
    res.setHeader("access-control-max-age", "600");
  }
  if (req.method === "OPTIONS") {
    res.writeHead(204).end();
    return false;
  }
  return true;
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
