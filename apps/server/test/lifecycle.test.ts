// The server as a process: stopped with SIGTERM (idle and under load) or killed, and started again.
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  appDatabaseEnv,
  createTestDatabase,
  type TestDatabase,
  testServerUrl,
} from "@tasks/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { signToken } from "./support.ts";

/** How long in-flight requests get on shutdown (`SHUTDOWN_GRACE_MS` in src/app.ts). */
const GRACE_MS = 10_000;

const onPostgres = Boolean(testServerUrl());

interface Task {
  id: string;
  title: string;
}

describe(`the server process, on ${onPostgres ? "PostgreSQL" : "the embedded database"}`, () => {
  let env: Record<string, string>;
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  let token: string;

  beforeAll(async () => {
    token = await signToken({ sub: "restarts", email: "restarts@example.com" });
    if (onPostgres) {
      database = await createTestDatabase();
      env = appDatabaseEnv(database.url);
    } else {
      // The embedded default: a persistent PGlite opened by the server process itself.
      dataDir = await mkdtemp(join(tmpdir(), "lifecycle-"));
      env = { PGLITE_DATA_DIR: join(dataDir, "pglite") };
    }
  });
  afterAll(async () => {
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function create(server: ServerProcess, title: string): Promise<Task> {
    const response = await fetch(`${server.url}/trpc/task.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ json: { title } }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { result: { data: { json: Task } } }).result.data.json;
  }

  async function list(server: ServerProcess): Promise<Task[]> {
    const input = encodeURIComponent(JSON.stringify({ json: { limit: 100 } }));
    const response = await fetch(`${server.url}/trpc/task.list?input=${input}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { data: { json: { items: Task[] } } } };
    return body.result.data.json.items;
  }

  const byId = (tasks: Task[]) => [...tasks].sort((a, b) => a.id.localeCompare(b.id));

  it("keeps everything written before a SIGTERM across a restart", async () => {
    const first = await startServerProcess(env);
    const written: Task[] = [];
    for (let i = 0; i < 20; i++) written.push(await create(first, `kept ${i}`));
    const before = await list(first);
    first.signal("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = await startServerProcess(env);
    try {
      const after = await list(second);
      expect(byId(after)).toEqual(byId(before));
      for (const task of written) expect(after).toContainEqual(task);
    } finally {
      second.signal("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  });

  it.runIf(!onPostgres)(
    "embedded: killed with SIGKILL, it opens again intact, with every acknowledged write",
    async () => {
      const first = await startServerProcess(env);
      const before = await list(first);
      const written: Task[] = [];
      for (let i = 0; i < 20; i++) written.push(await create(first, `acknowledged ${i}`));
      first.signal("SIGKILL");
      expect(await first.exited).toBe("SIGKILL");

      // The dead process's claim on the data directory is taken over.
      const second = await startServerProcess(env);
      try {
        const after = await list(second);
        expect(byId(after)).toEqual(byId([...before, ...written]));
        const integrity = await fetch(`${second.url}/ready`);
        expect(integrity.status).toBe(200);
        await create(second, "after the crash");
      } finally {
        second.signal("SIGTERM");
        expect(await second.exited).toBe(0);
      }
    },
  );

  it("two processes on one database: each sees the other's writes; a deletion through one is refused by the other within AUTH_USER_CACHE_SECONDS", async () => {
    const CACHE_SECONDS = 2;
    const shared = { ...env, AUTH_USER_CACHE_SECONDS: String(CACHE_SECONDS) };
    // On the embedded database, the second process joins the server the first one opened.
    const [a, b] = [await startServerProcess(shared), await startServerProcess(shared)];
    const twin = await signToken({ sub: "twin", email: "twin@example.com" });
    const call = async (server: ServerProcess, path: string, input?: unknown) => {
      const write = ["task.create", "task.update", "user.delete"].includes(path);
      const query =
        input === undefined || write
          ? ""
          : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
      const response = await fetch(`${server.url}/trpc/${path}${query}`, {
        method: write ? "POST" : "GET",
        headers: { authorization: `Bearer ${twin}`, "content-type": "application/json" },
        body: write ? JSON.stringify({ json: input ?? null }) : undefined,
      });
      const body = (await response.json()) as {
        result?: { data: { json: Record<string, unknown> } };
      };
      return { status: response.status, data: body.result?.data.json };
    };
    try {
      for (let round = 0; round < 10; round++) {
        const [writer, reader] = round % 2 ? [a, b] : [b, a];
        const created = await call(writer, "task.create", { title: `round ${round}` });
        expect(created.status).toBe(200);
        const seen = await call(reader, "task.byId", { id: created.data?.id });
        expect(seen).toEqual({ status: 200, data: created.data });
        const updated = await call(reader, "task.update", {
          id: created.data?.id,
          completed: true,
        });
        expect((await call(writer, "task.byId", { id: created.data?.id })).data).toEqual(
          updated.data,
        );
      }
      expect((await call(b, "task.stats")).data).toMatchObject({ total: 10, completed: 10 });

      expect((await call(a, "user.delete")).status).toBe(200);
      const deletedAt = performance.now();
      expect((await call(a, "task.stats")).status).toBe(401);
      // B still trusts its memory of the user for a while: its answers show no data, and it
      // writes nothing back (the foreign key refuses a task for a missing user).
      let refusedAfterMs: number | undefined;
      while (refusedAfterMs === undefined) {
        const [stats, create] = [
          await call(b, "task.stats"),
          await call(b, "task.create", { title: "ghost" }),
        ];
        if (stats.status === 401 && create.status === 401)
          refusedAfterMs = performance.now() - deletedAt;
        else {
          expect(stats.data ?? { total: 0 }).toMatchObject({ total: 0 });
          expect([401, 409]).toContain(create.status);
        }
        expect(performance.now() - deletedAt).toBeLessThan(CACHE_SECONDS * 1000 + 2_000);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      console.info(
        `deleted through A, refused by B ${Math.round(refusedAfterMs)} ms later (bound ${CACHE_SECONDS} s)`,
      );
    } finally {
      for (const server of [b, a]) {
        server.signal("SIGTERM");
        expect(await server.exited).toBe(0);
      }
    }
  });

  it("SIGTERM under load: in-flight requests finish, new connections are refused, exit 0 in time", async () => {
    const server = await startServerProcess(env);
    const { hostname, port } = new URL(server.url);
    const answered: number[] = [];
    const failed: string[] = [];
    let running = true;
    const worker = async (n: number) => {
      for (let i = 0; running; i++) {
        try {
          const response = await fetch(`${server.url}/trpc/task.create`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ json: { title: `load ${n}.${i}` } }),
          });
          await response.arrayBuffer();
          answered.push(response.status);
        } catch (error) {
          // No answer at all: the connection was refused or closed before a request was sent.
          failed.push(String((error as Error).cause ?? error));
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, n) => worker(n));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const signalled = performance.now();
    server.signal("SIGTERM");
    const refused = await new Promise<boolean>((resolve) => {
      const poll = () => {
        if (!server.logs.some((line) => line.msg === "shutting down")) return setTimeout(poll, 5);
        const socket = connect({ host: hostname, port: Number(port) });
        socket.once("connect", () => (socket.destroy(), resolve(false)));
        socket.once("error", () => resolve(true));
      };
      poll();
    });
    expect(await server.exited).toBe(0);
    const exitedAfterMs = performance.now() - signalled;
    running = false;
    await Promise.all(workers);

    expect(refused).toBe(true);
    expect(exitedAfterMs).toBeLessThan(GRACE_MS);
    expect(answered.length).toBeGreaterThan(0);
    // Every request the server took was answered in full, and none with an error.
    expect(answered.every((status) => status === 200)).toBe(true);
    for (const reason of failed)
      expect(reason).toMatch(/ECONNREFUSED|ECONNRESET|other side closed|SocketError/);
    console.info(
      `${answered.length} answered (all 200), ${failed.length} refused; exited ${Math.round(exitedAfterMs)} ms after SIGTERM`,
    );
  });
});
