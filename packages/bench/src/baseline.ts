/**
 * The baseline: the task procedures the benchmark measures, by hand, on `node:http` and `pg`.
 * Same URL shapes (`/trpc/task.list?input=…`, `POST /trpc/task.create`, `GET /api/tasks`), same
 * superjson envelope (plain JSON under `/api`), same token check (HS256, issuer, audience, `exp`
 * and `sub` required), the same first-sight provisioning and the same SQL as the API's queries,
 * and nothing else.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { jwtVerify } from "jose";
import pg from "pg";
import superjson from "superjson";

export interface BaselineOptions {
  databaseUrl: string;
  secret: string;
  issuer: string;
  audience: string;
  poolMax?: number;
  knownUserTtlMs?: number;
}

/** The columns as Prisma selects them (`"public"."tasks"."id"`, …), named as the results name them. */
const COLUMNS = [
  ["id", "id"],
  ["title", "title"],
  ["description", "description"],
  ["completed", "completed"],
  ["priority", "priority"],
  ["due_at", "dueAt"],
  ["created_at", "createdAt"],
  ["updated_at", "updatedAt"],
]
  .map(
    ([column, name]) =>
      `"public"."tasks"."${column}"${column === "priority" ? "::text" : ""} AS "${name}"`,
  )
  .join(", ");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const RPC_CODES: Record<string, number> = {
  BAD_REQUEST: -32600,
  UNAUTHORIZED: -32001,
  NOT_FOUND: -32004,
  INTERNAL_SERVER_ERROR: -32603,
};

/** A UUIDv7, as Prisma's `uuid(7)` default makes them. */
export function uuidv7(): string {
  const bytes = randomBytes(16);
  const now = BigInt(Date.now());
  for (let i = 0; i < 6; i++) bytes[i] = Number((now >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The API's cursor of the newest-first order: `["created", createdAt, id]`, base64url. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify(["created", createdAt.toISOString(), id])).toString(
    "base64url",
  );
}

function decodeCursor(value: string): { createdAt: Date; id: string } {
  try {
    const [sort, createdAt, id] = JSON.parse(
      Buffer.from(value, "base64url").toString(),
    ) as string[];
    if (sort !== "created") throw new Error("another order");
    const date = new Date(String(createdAt));
    if (!Number.isNaN(date.getTime()) && typeof id === "string" && UUID.test(id))
      return { createdAt: date, id };
  } catch {}
  throw new HttpError(400, "BAD_REQUEST", "Invalid cursor.");
}

export function createBaselineServer(options: BaselineOptions): {
  server: Server;
  close(): Promise<void>;
} {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolMax ?? 10 });
  const secret = new TextEncoder().encode(options.secret);
  const known = new Map<string, number>();
  const ttl = options.knownUserTtlMs ?? 60_000;

  async function authenticate(req: IncomingMessage): Promise<string> {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Bearer ")) throw new HttpError(401, "UNAUTHORIZED", "Sign in first.");
    let claims: { sub?: string; email?: unknown; name?: unknown; picture?: unknown };
    try {
      ({ payload: claims } = await jwtVerify(header.slice(7), secret, {
        algorithms: ["HS256"],
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ["exp", "sub"],
        clockTolerance: 5,
      }));
    } catch {
      throw new HttpError(401, "UNAUTHORIZED", "Invalid token.");
    }
    const userId = claims.sub as string;
    if ((known.get(userId) ?? 0) > Date.now()) return userId;
    const deleted = await pool.query(
      `SELECT COUNT(*)::int AS "count" FROM "public"."deleted_users" WHERE "id" = $1`,
      [userId],
    );
    if (deleted.rows[0].count > 0)
      throw new HttpError(401, "UNAUTHORIZED", "This account has been deleted.");
    if (typeof claims.email !== "string")
      throw new HttpError(401, "UNAUTHORIZED", "The token has no email.");
    const now = new Date();
    await pool.query(
      `INSERT INTO "public"."users" ("id", "email", "email_verified", "name", "image", "created_at", "updated_at")
       VALUES ($1, $2, false, $3, $4, $5, $5) ON CONFLICT DO NOTHING`,
      [
        userId,
        claims.email.toLowerCase(),
        typeof claims.name === "string" ? claims.name : null,
        typeof claims.picture === "string" ? claims.picture : null,
        now,
      ],
    );
    known.set(userId, Date.now() + ttl);
    return userId;
  }

  const procedures: Record<
    string,
    (userId: string, input: Record<string, unknown>) => Promise<unknown>
  > = {
    async "task.list"(userId, input) {
      const limit = input.limit === undefined ? 20 : Number(input.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw new HttpError(400, "BAD_REQUEST", "limit");
      const where = [`"public"."tasks"."user_id" = $1`];
      const params: unknown[] = [userId];
      if (typeof input.completed === "boolean") {
        params.push(input.completed);
        where.push(`"public"."tasks"."completed" = $${params.length}`);
      }
      if (typeof input.cursor === "string") {
        const { createdAt, id } = decodeCursor(input.cursor);
        params.push(createdAt, id);
        const [c, i] = [params.length - 1, params.length];
        where.push(
          `("public"."tasks"."created_at" <= $${c} AND ("public"."tasks"."created_at" < $${c} OR "public"."tasks"."id" < $${i}::uuid))`,
        );
      }
      params.push(limit + 1, 0);
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM "public"."tasks" WHERE ${where.join(" AND ")}
         ORDER BY "public"."tasks"."created_at" DESC, "public"."tasks"."id" DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      );
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },
    async "task.byId"(userId, input) {
      const id = uuidOf(input.id);
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM "public"."tasks" WHERE ("public"."tasks"."id" = $1 AND "public"."tasks"."user_id" = $2) LIMIT $3 OFFSET $4`,
        [id, userId, 1, 0],
      );
      if (!rows[0]) throw new HttpError(404, "NOT_FOUND", "Task not found.");
      return rows[0];
    },
    async "task.create"(userId, input) {
      if (typeof input.title !== "string" || input.title.trim() === "" || input.title.length > 200)
        throw new HttpError(400, "BAD_REQUEST", "title");
      const now = new Date();
      const { rows } = await pool.query(
        `INSERT INTO "public"."tasks" ("id", "title", "description", "completed", "priority", "due_at", "user_id", "created_at", "updated_at")
         VALUES ($1, $2, $3, false, CAST($4::text AS "public"."priority"), $5, $6, $7, $7) RETURNING ${COLUMNS}`,
        [
          uuidv7(),
          input.title,
          input.description ?? null,
          input.priority ?? "MEDIUM",
          input.dueAt ?? null,
          userId,
          now,
        ],
      );
      return rows[0];
    },
    async "task.update"(userId, input) {
      const id = uuidOf(input.id);
      const sets: string[] = [];
      const params: unknown[] = [];
      for (const [key, column] of [
        ["title", "title"],
        ["description", "description"],
        ["completed", "completed"],
        ["priority", "priority"],
        ["dueAt", "due_at"],
      ] as const) {
        if (input[key] === undefined) continue;
        params.push(input[key]);
        sets.push(
          key === "priority"
            ? `"priority" = CAST($${params.length}::text AS "public"."priority")`
            : `"${column}" = $${params.length}`,
        );
      }
      params.push(new Date());
      sets.push(`"updated_at" = $${params.length}`);
      params.push(id, userId);
      const { rows } = await pool.query(
        `UPDATE "public"."tasks" SET ${sets.join(", ")}
         WHERE ("public"."tasks"."id" = $${params.length - 1} AND "public"."tasks"."user_id" = $${params.length}) RETURNING ${COLUMNS}`,
        params,
      );
      if (!rows[0]) throw new HttpError(404, "NOT_FOUND", "Task not found.");
      return rows[0];
    },
    async "task.stats"(userId) {
      const { rows } = await pool.query<{ completed: boolean; count: number }>(
        `SELECT COUNT(*)::int AS "count", "public"."tasks"."completed" FROM "public"."tasks"
         WHERE "public"."tasks"."user_id" = $1 GROUP BY "public"."tasks"."completed" OFFSET $2`,
        [userId, 0],
      );
      const tally = (completed: boolean) =>
        rows.find((row) => row.completed === completed)?.count ?? 0;
      const completed = tally(true);
      const open = tally(false);
      return { total: completed + open, completed, open };
    },
  };

  const queries = new Set(["task.list", "task.byId", "task.stats"]);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/api/tasks" && req.method === "GET") {
      // The REST face: query parameters in, plain JSON with ISO instants out.
      const { limit, cursor, completed } = Object.fromEntries(url.searchParams);
      const input = {
        limit,
        cursor,
        completed: completed === undefined ? undefined : completed === "true",
      };
      send(res, 200, await procedures["task.list"]?.(await authenticate(req), input));
      return;
    }
    const name = url.pathname.startsWith("/trpc/") ? url.pathname.slice(6) : "";
    const procedure = procedures[name];
    if (!procedure) throw new HttpError(404, "NOT_FOUND", "No such procedure.");
    const isQuery = queries.has(name);
    if (req.method !== (isQuery ? "GET" : "POST"))
      throw new HttpError(405, "METHOD_NOT_SUPPORTED", "Wrong method.");
    let raw: string | null = isQuery ? url.searchParams.get("input") : await readBody(req);
    if (raw === "") raw = null;
    let input: Record<string, unknown> = {};
    if (raw !== null) {
      try {
        const parsed = JSON.parse(raw);
        input = (superjson.deserialize(parsed) ?? {}) as Record<string, unknown>;
      } catch {
        throw new HttpError(400, "BAD_REQUEST", "Invalid input.");
      }
    }
    const userId = await authenticate(req);
    const data = await procedure(userId, input);
    send(res, 200, { result: { data: superjson.serialize(data) } });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const known = error instanceof HttpError;
      const status = known ? error.status : 500;
      const code = known ? error.code : "INTERNAL_SERVER_ERROR";
      const message = known ? error.message : "Internal server error";
      send(res, status, {
        error: {
          json: { message, code: RPC_CODES[code] ?? -32603, data: { code, httpStatus: status } },
        },
      });
    });
  });

  return {
    server,
    async close() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await pool.end();
    },
  };
}

function uuidOf(value: unknown): string {
  if (typeof value !== "string" || !UUID.test(value)) throw new HttpError(400, "BAD_REQUEST", "id");
  return value;
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 100 * 1024) throw new HttpError(413, "PAYLOAD_TOO_LARGE", "Too large.");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString();
}
