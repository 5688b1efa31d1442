/**
 * Time and space, as a caller meets them over real HTTP: a slow statement is cancelled by
 * PostgreSQL at the database's `statement_timeout` (here the request deadline, REQUEST_TIMEOUT_MS)
 * and the caller gets 503; an account holds at most the database's `app.task_quota` tasks,
 * exactly, however many creates race, through one server process or two on one database.
 */
import {
  appDatabaseEnv,
  createTestDatabase,
  setDatabaseDefaults,
  type TestDatabase,
  testServerUrl,
} from "@tasks/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import {
  authConfigs,
  type Jwks,
  SECRET,
  signToken,
  startJwks,
  startTestApi,
  type TestApi,
} from "./support.ts";

const DEADLINE_MS = 600;
const QUOTA = 8;

let jwks: Jwks;
let api: TestApi;

beforeAll(async () => {
  jwks = await startJwks();
  api = await startTestApi(authConfigs(jwks).secret, {
    requestTimeoutMs: DEADLINE_MS,
    databaseDefaults: { "app.task_quota": String(QUOTA), statement_timeout: `${DEADLINE_MS}ms` },
  });
});
afterAll(async () => {
  await api?.stop();
  await jwks?.close();
});

/** Creates a task through tRPC (one call per request), answering the HTTP status and error. */
async function create(url: string, token: string, title: string) {
  const response = await fetch(`${url}/trpc/task.create`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ json: { title } }),
  });
  const body = (await response.json()) as { error?: { json: { message: string; data: object } } };
  return { status: response.status, error: body.error?.json };
}

describe("the request deadline", () => {
  it.runIf(testServerUrl())(
    "a slow statement: at the deadline the caller gets 503, and PostgreSQL no longer runs it",
    async () => {
      const token = await signToken({ sub: "patient", email: "patient@example.com" });
      expect((await create(api.url, token, "first")).status).toBe(200);
      // A lock held by another session makes the API's next statement wait: a slow statement.
      let release = () => {};
      let locked = () => {};
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = api.db.$transaction(
        async (tx) => {
          await tx.$executeRaw`LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE`;
          locked();
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        },
        { timeout: 30_000 },
      );
      await isLocked;
      try {
        for (const path of ["/trpc/task.list", "/api/tasks"]) {
          const started = performance.now();
          const response = await fetch(`${api.url}${path}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const elapsed = performance.now() - started;
          expect(response.status).toBe(503);
          expect(JSON.stringify(await response.json())).toContain(
            "The request took longer than the server allows",
          );
          expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 10);
          expect(elapsed).toBeLessThan(DEADLINE_MS + 1_500);
          // The 503 can reach the caller a moment before the cancelled backend reports idle.
          const running = async () => {
            const [{ running }] = await api.db.$queryRaw<[{ running: number }]>`
              SELECT count(*)::int AS running FROM pg_stat_activity
               WHERE pid <> pg_backend_pid() AND state = 'active' AND query ILIKE '%"tasks"%'`;
            return running;
          };
          await expect.poll(running, { timeout: 5_000, interval: 20 }).toBe(0);
        }
      } finally {
        release();
        await holder;
      }
      // The lock gone, the same request is answered.
      const after = await fetch(`${api.url}/trpc/task.list`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(after.status).toBe(200);
    },
  );
});

describe("the task quota", () => {
  it(`50 parallel creates with 5 left store exactly 5; the others get 403 naming the limit (${QUOTA})`, async () => {
    const token = await signToken({ sub: "hoarder", email: "hoarder@example.com" });
    for (let i = 0; i < QUOTA - 5; i++) {
      expect((await create(api.url, token, `kept ${i}`)).status).toBe(200);
    }
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => create(api.url, token, `race ${i}`)),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(5);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(refused).toHaveLength(45);
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.error?.message).toBe(
        `This account holds its limit of ${QUOTA} tasks; delete some to add more.`,
      );
      expect(answer.error?.data).toMatchObject({ code: "FORBIDDEN", httpStatus: 403 });
    }
    expect(await api.db.task.count({ where: { userId: "hoarder" } })).toBe(QUOTA);
    // REST says the same.
    const rest = await fetch(`${api.url}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "one more" }),
    });
    expect(rest.status).toBe(403);
    expect(await rest.json()).toMatchObject({
      code: "FORBIDDEN",
      message: `This account holds its limit of ${QUOTA} tasks; delete some to add more.`,
    });
    // Room again after a delete.
    const [oldest] = await api.db.task.findMany({ where: { userId: "hoarder" }, take: 1 });
    const removed = await fetch(`${api.url}/api/tasks/${oldest?.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(removed.status).toBe(200);
    expect((await create(api.url, token, "in the freed place")).status).toBe(200);
  });

  describe("two server processes on one database", () => {
    let database: TestDatabase;
    let servers: ServerProcess[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      await setDatabaseDefaults(database.url, { "app.task_quota": String(QUOTA) });
      const env = {
        ...appDatabaseEnv(database.url),
        AUTH_JWT_SECRET: SECRET,
      };
      servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    });
    afterAll(async () => {
      for (const server of servers) server.signal("SIGTERM");
      await Promise.all(servers.map((server) => server.exited));
      await database?.drop();
    });

    it("allow the quota between them, not twice it", async () => {
      const token = await signToken({ sub: "twin-hoarder", email: "twin-hoarder@example.com" });
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          create((servers[i % 2] as ServerProcess).url, token, `twin ${i}`),
        ),
      );
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(QUOTA);
      expect(answers.filter((answer) => answer.status === 403)).toHaveLength(40 - QUOTA);
    });
  });
});
