// The database's row-level security, beneath the scoped client: what a connection as the app's
// role may see and change with no user setting and with another user's; that the setting of one
// operation never reaches another's, on a small pool and through PgBouncer; that the server
// refuses a role the policies would not bind; and that the setting costs no round trip.
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import { APP_ROLE, checkRowSecurity, type Database, RowSecurityError } from "@tasks/db";
import {
  appDatabaseEnv,
  appUrl,
  asRowOwner,
  connectTestDb,
  createTestDatabase,
  type TestDatabase,
  testServerUrl,
} from "@tasks/db/testing";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, startApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import { type PgBouncer, startPgBouncer } from "./pgbouncer.ts";
import { SECRET, signToken, startTestApi, type TestApi } from "./support.ts";

const onPostgres = Boolean(testServerUrl());
let database: TestDatabase;
let alicesTask: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const owner = new pg.Client({ connectionString: database.url });
  await owner.connect();
  try {
    await owner.query(`INSERT INTO users (id, email, updated_at) VALUES
      ('alice', 'alice@example.com', now()), ('bob', 'bob@example.com', now())`);
    const { rows } = await owner.query(`INSERT INTO tasks (id, title, user_id, updated_at) VALUES
      (gen_random_uuid(), 'alice''s secret', 'alice', now()),
      (gen_random_uuid(), 'bob''s secret', 'bob', now()) RETURNING id, user_id`);
    alicesTask = rows.find((row) => row.user_id === "alice").id;
  } finally {
    await owner.end();
  }
});
afterAll(() => database?.drop());

/**
 * A plain connection as the app's role, each statement in a transaction of its own. On
 * PostgreSQL it logs in as the role; the embedded database's one session is its superuser's, so
 * there each transaction takes the role first, as the app's do.
 */
async function asApp<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: appUrl(database.url) });
  await client.connect();
  try {
    await client.query("BEGIN");
    if (!onPostgres) await client.query(`SET LOCAL ROLE ${APP_ROLE}`);
    try {
      return await run(client);
    } finally {
      await client.query("ROLLBACK");
    }
  } finally {
    await client.end();
  }
}

/** The statement's outcome: how many rows it returned or changed, or its error's message. */
async function outcome(client: pg.Client, sql: string, values: unknown[] = []) {
  await client.query("SAVEPOINT attempt");
  try {
    const result = await client.query(sql, values);
    return { rows: result.rowCount ?? 0 };
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT attempt");
    return { error: (error as Error).message };
  }
}

describe("a connection as the app's role", () => {
  it("with no user setting sees no row of either table, and changes none", async () => {
    const seen = await asApp(async (client) => ({
      current: (await client.query("SELECT current_user::text AS role")).rows[0].role,
      users: await outcome(client, "SELECT * FROM users"),
      tasks: await outcome(client, "SELECT * FROM tasks"),
      counted: (await client.query("SELECT count(*)::int AS n FROM tasks")).rows[0].n,
      updated: await outcome(client, "UPDATE tasks SET title = 'taken'"),
      usersUpdated: await outcome(client, "UPDATE users SET name = 'taken'"),
      deleted: await outcome(client, "DELETE FROM tasks"),
      usersDeleted: await outcome(client, "DELETE FROM users"),
      inserted: await outcome(
        client,
        "INSERT INTO tasks (id, title, user_id, updated_at) VALUES (gen_random_uuid(), 'x', 'alice', now())",
      ),
      userInserted: await outcome(
        client,
        "INSERT INTO users (id, email, updated_at) VALUES ('mallory', 'm@example.com', now())",
      ),
    }));
    expect(seen.current).toBe(APP_ROLE);
    expect(seen).toMatchObject({
      users: { rows: 0 },
      tasks: { rows: 0 },
      counted: 0,
      updated: { rows: 0 },
      usersUpdated: { rows: 0 },
      deleted: { rows: 0 },
      usersDeleted: { rows: 0 },
      inserted: { error: 'new row violates row-level security policy for table "tasks"' },
      userInserted: { error: 'new row violates row-level security policy for table "users"' },
    });
    expect(await ownerCount("tasks")).toBe(2);
  });

  it("with alice's setting, reaches alice's rows only, and cannot give a row to bob", async () => {
    const seen = await asApp(async (client) => {
      await client.query("SELECT set_config('app.user_id', 'alice', true)");
      return {
        tasks: (await client.query("SELECT title FROM tasks")).rows.map((row) => row.title),
        users: (await client.query("SELECT id FROM users")).rows.map((row) => row.id),
        bobsUpdated: await outcome(client, "UPDATE tasks SET title = 'x' WHERE user_id = 'bob'"),
        bobsDeleted: await outcome(client, "DELETE FROM tasks WHERE user_id = 'bob'"),
        bobUpdated: await outcome(client, "UPDATE users SET name = 'x' WHERE id = 'bob'"),
        forBob: await outcome(
          client,
          "INSERT INTO tasks (id, title, user_id, updated_at) VALUES (gen_random_uuid(), 'x', 'bob', now())",
        ),
        moved: await outcome(client, "UPDATE tasks SET user_id = 'bob' WHERE id = $1", [
          alicesTask,
        ]),
        renamed: await outcome(client, "UPDATE users SET id = 'bob2' WHERE id = 'alice'"),
        newUser: await outcome(
          client,
          "INSERT INTO users (id, email, updated_at) VALUES ('bob3', 'b3@example.com', now())",
        ),
        own: await outcome(client, "UPDATE tasks SET title = 'changed' WHERE id = $1", [
          alicesTask,
        ]),
      };
    });
    expect(seen).toMatchObject({
      tasks: ["alice's secret"],
      users: ["alice"],
      bobsUpdated: { rows: 0 },
      bobsDeleted: { rows: 0 },
      bobUpdated: { rows: 0 },
      forBob: { error: 'new row violates row-level security policy for table "tasks"' },
      moved: { error: 'new row violates row-level security policy for table "tasks"' },
      renamed: { error: 'new row violates row-level security policy for table "users"' },
      newUser: { error: 'new row violates row-level security policy for table "users"' },
      own: { rows: 1 },
    });
    // The refusals name no row and no value.
    expect(JSON.stringify(seen)).not.toContain("bob's secret");
  });

  it("may not turn the policies off or read the migrations", async () => {
    const seen = await asApp(async (client) => ({
      disable: await outcome(client, "ALTER TABLE tasks DISABLE ROW LEVEL SECURITY"),
      bypass: await outcome(client, "SET LOCAL row_security = off"),
      afterBypass: await outcome(client, "SELECT * FROM tasks"),
      migrations: await outcome(client, "SELECT * FROM _prisma_migrations"),
    }));
    expect(seen.disable.error).toContain("must be owner of table tasks");
    // With row_security off, a bound role's query fails instead of skipping the policies.
    expect(seen.afterBypass.error).toContain("row-level security");
    expect(seen.migrations.error).toContain("permission denied");
  });
});

async function ownerCount(table: "tasks" | "users"): Promise<number> {
  const owner = new pg.Client({ connectionString: database.url });
  await owner.connect();
  try {
    return (await owner.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  } finally {
    await owner.end();
  }
}

/** What a statement reports of the setting it ran under. */
const SETTING_SQL = "SELECT coalesce(current_setting('app.user_id', true), '') AS seen";

describe.for([
  { path: "a pool of 2 connections", via: "direct" },
  ...(onPostgres
    ? [{ path: "PgBouncer (transaction mode, 4 server connections)", via: "pgbouncer" }]
    : []),
])("one operation's setting never reaches another's, on $path", ({ via }) => {
  let bouncer: PgBouncer | undefined;
  let app: Database;
  beforeAll(async () => {
    bouncer = via === "pgbouncer" ? await startPgBouncer(appUrl(database.url)) : undefined;
    // More callers than connections: statements and transactions queue and interleave.
    app = await connectTestDb(bouncer?.url ?? database.url, { poolMax: 2 });
  });
  afterAll(async () => {
    await app?.close();
    await bouncer?.stop();
  });

  const seen = async (): Promise<string> => {
    const [row] = await app.client.$queryRawUnsafe<{ seen: string }[]>(SETTING_SQL);
    return row?.seen ?? "?";
  };

  it("statements and transactions of random users, all at once", async () => {
    const owner = fc.option(fc.constantFrom("alice", "bob", "carol", "dave"), { nil: undefined });
    const step = fc.record({
      owner,
      transaction: fc.boolean(),
      pause: fc.nat({ max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 24 }), async (steps) => {
        const results = await Promise.all(
          steps.map(async ({ owner, transaction, pause }) => {
            const run = async (): Promise<string[]> => {
              if (!transaction) return [await seen()];
              return app.client.$transaction(async (tx) => {
                const first = await tx.$queryRawUnsafe<{ seen: string }[]>(SETTING_SQL);
                await new Promise((resolve) => setTimeout(resolve, pause));
                const second = await tx.$queryRawUnsafe<{ seen: string }[]>(SETTING_SQL);
                return [first[0]?.seen ?? "?", second[0]?.seen ?? "?"];
              });
            };
            await new Promise((resolve) => setTimeout(resolve, pause));
            return { owner, seen: await (owner ? asRowOwner(owner, run) : run()) };
          }),
        );
        for (const { owner, seen } of results) {
          for (const value of seen) expect(value).toBe(owner ?? "");
        }
        // And after all of them, a statement of no one's sees no one's setting.
        expect(await seen()).toBe("");
      }),
      { numRuns: 60 },
    );
  });
});

describe("the server refuses a role the policies would not bind", () => {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).trim().split("\n"));
      done();
    },
  });
  const started: App[] = [];
  afterAll(async () => {
    for (const app of started) await app.stop();
  });

  const start = async (env: Record<string, string | undefined>) => {
    const app = await startApp(
      loadConfig({ PORT: "0", AUTH_JWT_SECRET: SECRET, NODE_ENV: "test", ...env }),
      createLogger("info", sink),
    );
    started.push(app);
    return app;
  };

  it("as the superuser", async () => {
    await expect(start({ DATABASE_URL: database.url })).rejects.toThrow(
      new RowSecurityError(
        "The database role postgres bypasses row-level security (superuser or BYPASSRLS): connect as tasks_app (or a role granted it), or set ROW_LEVEL_SECURITY=off to rely on the scoped client alone.",
      ),
    );
  });

  it.runIf(onPostgres)("as a role with BYPASSRLS", async () => {
    const owner = new pg.Client({ connectionString: database.url });
    await owner.connect();
    try {
      await owner.query(`DO $$ BEGIN
        CREATE ROLE tasks_test_bypass LOGIN BYPASSRLS IN ROLE ${APP_ROLE};
      EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    } finally {
      await owner.end();
    }
    const url = new URL(database.url);
    url.username = "tasks_test_bypass";
    await expect(start({ DATABASE_URL: url.href })).rejects.toThrow(
      "The database role tasks_test_bypass bypasses row-level security",
    );
  });

  it("with ROW_LEVEL_SECURITY=off as a role the policies bind", async () => {
    await expect(
      start({ ...appDatabaseEnv(database.url), ROW_LEVEL_SECURITY: "off" }),
    ).rejects.toThrow(
      `ROW_LEVEL_SECURITY=off, but the policies bind the database role ${APP_ROLE}, which would then see no rows`,
    );
  });

  it("serves as the app's role, and with ROW_LEVEL_SECURITY=off as the owner, saying so", async () => {
    const bound = await start(appDatabaseEnv(database.url));
    expect((await fetch(`${bound.url}/health`)).status).toBe(200);
    const ready = logs.map((line) => JSON.parse(line)).findLast((e) => e.msg === "database ready");
    expect(ready).toMatchObject({ role: APP_ROLE, rowSecurity: "enforce" });
    const unbound = await start({ DATABASE_URL: database.url, ROW_LEVEL_SECURITY: "off" });
    expect((await fetch(`${unbound.url}/health`)).status).toBe(200);
    expect(logs.some((line) => line.includes("row-level security is off"))).toBe(true);
  });
});

/**
 * A TCP proxy in front of PostgreSQL that counts round trips: the ReadyForQuery messages the
 * server sends, one per simple query or per Sync of the extended protocol.
 */
async function startRoundTripCounter(target: URL) {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
    sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    upstream.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 1 + length) break;
        if (pending[0] === 0x5a) count++; // 'Z': ReadyForQuery
        pending = pending.subarray(1 + length);
      }
      client.write(chunk);
    });
    client.pipe(upstream);
    for (const socket of [client, upstream]) {
      socket.on("error", () => undefined);
      socket.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.href,
    count: () => count,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((closed) => server.close(closed));
    },
  };
}

describe.runIf(onPostgres)("round trips per procedure", () => {
  const table: Record<string, { on: number; off: number }> = {};
  afterAll(() => {
    const lines = Object.entries(table).map(
      ([name, { on, off }]) => `| ${name} | ${off} | ${on} |`,
    );
    console.info(["| procedure | RLS off | RLS on |", "|---|---|---|", ...lines].join("\n"));
  });

  for (const mode of ["off", "enforce"] as const) {
    describe(`row-level security ${mode}`, () => {
      let counter: Awaited<ReturnType<typeof startRoundTripCounter>>;
      let api: TestApi;
      beforeAll(async () => {
        counter = await startRoundTripCounter(new URL(database.url));
        api = await startTestApi(
          { mode: "secret", secret: SECRET, issuer: "https://issuer.test", audience: "tasks-api" },
          {
            databaseUrl: counter.url,
            rowSecurity: mode === "off" ? "off" : "enforce",
            rateLimits: { userPerMinute: 0, anonymousPerMinute: 0 },
            // Without live streams, whose pruning and listener's probes would talk to the
            // database on timers of their own, in the middle of a counted procedure.
            live: false,
          },
        );
      });
      afterAll(async () => {
        await api?.stop();
        await counter?.close();
      });

      it("counts each procedure's round trips", async () => {
        const sub = `trips-${mode}`;
        const client = api.client(await signToken({ sub, email: `${sub}@example.com` }), {
          batch: false,
        });
        // Warm: the pool's connections are open, Prisma has run each query once.
        const warm = await client.task.create.mutate({ title: "warm" });
        await client.task.list.query({});
        await client.task.delete.mutate({ id: warm.id });
        let id = "";
        const procedures: [string, () => Promise<unknown>][] = [
          ["task.create", async () => (id = (await client.task.create.mutate({ title: "t" })).id)],
          ["task.list", () => client.task.list.query({})],
          ["task.byId", () => client.task.byId.query({ id })],
          ["task.update", () => client.task.update.mutate({ id, completed: true })],
          ["task.stats", () => client.task.stats.query()],
          ["task.delete", () => client.task.delete.mutate({ id })],
          ["user.me", () => client.user.me.query()],
          ["user.update", () => client.user.update.mutate({ name: "N" })],
          [
            "first request of a new user (provisioning)",
            async () =>
              api
                .client(await signToken({ sub: `${sub}-new`, email: `${sub}-new@example.com` }))
                .user.me.query(),
          ],
          ["user.delete (account deletion)", () => client.user.delete.mutate()],
          // For comparison: Prisma's example of the same policies, a transaction per operation.
          [
            "Prisma's example: $transaction([set_config, findMany])",
            () =>
              api.app.$transaction([
                api.app.$executeRaw`SELECT set_config('app.user_id', ${sub}, true)`,
                api.app.task.findMany({ where: { userId: sub } }),
              ]),
          ],
        ];
        for (const [name, call] of procedures) {
          const before = counter.count();
          await call();
          const trips = counter.count() - before;
          table[name] = {
            ...(table[name] ?? { on: 0, off: 0 }),
            [mode === "off" ? "off" : "on"]: trips,
          };
        }
        expect(Object.keys(table)).toHaveLength(procedures.length);
      });
    });
  }

  it("row-level security adds no round trip to any procedure", () => {
    for (const [name, { on, off }] of Object.entries(table)) {
      expect(on, name).toBe(off);
      expect(on, name).toBeGreaterThan(0);
    }
    expect(table["task.list"]?.on).toBe(1);
    expect(table["Prisma's example: $transaction([set_config, findMany])"]?.on).toBe(4);
  });
});

// A check of the checker: the app's own connection, as the tests run it, is bound.
it("the test suites' app connections are bound", async () => {
  const app = await connectTestDb(database.url);
  try {
    expect(await checkRowSecurity(app)).toBe(APP_ROLE);
  } finally {
    await app.close();
  }
});
