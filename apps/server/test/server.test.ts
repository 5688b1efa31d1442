import { request } from "node:http";
import { Writable } from "node:stream";
import { type AppRouter, createTokenVerifier } from "@tasks/api";
import { createDb } from "@tasks/db";
import { appDatabaseEnv, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { createTRPCClient, httpBatchStreamLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../src/app.ts";
import { ConfigError, loadConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import { createApiServer } from "../src/server.ts";
import { listen, SECRET, signToken, startTestApi, type TestApi } from "./support.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ mode: "secret", secret: SECRET });
});
afterAll(() => api?.stop());

describe("HTTP endpoints", () => {
  it("GET /health answers without the database", async () => {
    const response = await fetch(`${api.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("GET /ready is 200 when the database answers", async () => {
    const response = await fetch(`${api.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready" });
  });

  it("GET /ready is 503 when it does not", async () => {
    const database = await createDb({
      url: "postgres://postgres@127.0.0.1:1/none",
      connectionTimeoutMs: 500,
    });
    const server = createApiServer({
      config: {
        corsOrigins: [],
        bodyLimitBytes: 1024,
        batchMaxCalls: 20,
        knownUserTtlMs: 60_000,
        requestTimeoutMs: 10_000,
      },
      database,
      verifyToken: createTokenVerifier({ mode: "secret", secret: SECRET }),
      logger: createLogger("silent"),
    });
    const url = await listen(server);
    try {
      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      // A signed-in call cannot reach the database either: 503, not a bare 500.
      const token = await signToken({ sub: "offline", email: "offline@example.com" });
      const call = await fetch(`${url}/trpc/task.stats`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(call.status).toBe(503);
      expect(await call.text()).not.toContain("127.0.0.1:1");
    } finally {
      server.close();
      await database.close();
    }
  });

  it("unknown paths are 404", async () => {
    expect((await fetch(`${api.url}/nope`)).status).toBe(404);
  });

  it("echoes a request id, or makes one", async () => {
    const given = await fetch(`${api.url}/health`, { headers: { "x-request-id": "req-123" } });
    expect(given.headers.get("x-request-id")).toBe("req-123");
    const made = await fetch(`${api.url}/health`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses bodies over the limit", async () => {
    const token = await signToken({ sub: "big", email: "big@example.com" });
    const response = await fetch(`${api.url}/trpc/task.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ json: { title: "x".repeat(200 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect(await api.db.task.count()).toBe(0);
  });

  it("allows only configured CORS origins", async () => {
    const preflight = await fetch(`${api.url}/trpc/task.list`, {
      method: "OPTIONS",
      headers: { origin: "http://app.test", "access-control-request-method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://app.test");
    const other = await fetch(`${api.url}/health`, { headers: { origin: "http://evil.test" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sends a JSON answer in one piece, and streams one the client asked to stream", async () => {
    const token = await signToken({ sub: "stream", email: "stream@example.com" });
    const created = await api.client(token).task.create.mutate({ title: "Streamed" });
    const whole = await fetch(`${api.url}/trpc/task.list`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await whole.text();
    expect(whole.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(whole.headers.get("transfer-encoding")).toBeNull();

    const streaming = createTRPCClient<AppRouter>({
      links: [
        httpBatchStreamLink({
          url: `${api.url}/trpc`,
          transformer: superjson,
          headers: { authorization: `Bearer ${token}` },
        }),
      ],
    });
    const [page, stats] = await Promise.all([
      streaming.task.list.query({}),
      streaming.task.stats.query(),
    ]);
    expect(page.items).toEqual([created]);
    expect(page.items[0]?.createdAt).toBeInstanceOf(Date);
    expect(stats).toMatchObject({ total: 1 });
  });

  it("error responses carry no stack, SQL or connection details", async () => {
    const response = await fetch(
      `${api.url}/trpc/task.list?input=${encodeURIComponent("{bad json")}`,
      {
        headers: {
          authorization: `Bearer ${await signToken({ sub: "e", email: "e@example.com" })}`,
        },
      },
    );
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toMatch(/stack|postgres:\/\/|SELECT|at .*\.ts:/);
  });
});

describe("accounts", () => {
  it("parallel first requests of a new user create exactly one row", async () => {
    const token = await signToken({ sub: "racer", email: "racer@example.com" });
    const client = api.client(token, { batch: false });
    const results = await Promise.all(Array.from({ length: 10 }, () => client.task.stats.query()));
    expect(results).toHaveLength(10);
    expect(await api.db.user.count({ where: { id: "racer" } })).toBe(1);
  });

  it("a first token without an email is refused; an email already taken is a conflict", async () => {
    const noEmail = api.client(await signToken({ sub: "no-email" }));
    await expect(noEmail.user.me.query()).rejects.toMatchObject({ data: { code: "UNAUTHORIZED" } });
    const thief = api.client(await signToken({ sub: "thief", email: "RACER@example.com" }));
    await expect(thief.user.me.query()).rejects.toMatchObject({ data: { code: "CONFLICT" } });
    expect(await api.db.user.count({ where: { id: { in: ["no-email", "thief"] } } })).toBe(0);
  });
});

describe("request logs", () => {
  it("log method, path, procedure, status, duration and user, never the token", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split("\n"));
        done();
      },
    });
    const testDb: TestDatabase = await createTestDatabase();
    const database = await createDb({ url: testDb.url });
    const server = createApiServer({
      config: {
        corsOrigins: [],
        bodyLimitBytes: 1024 * 100,
        batchMaxCalls: 20,
        knownUserTtlMs: 60_000,
        requestTimeoutMs: 10_000,
      },
      database,
      verifyToken: createTokenVerifier({ mode: "secret", secret: SECRET }),
      logger: createLogger("info", sink),
    });
    const url = await listen(server);
    const token = await signToken({ sub: "logged", email: "logged@example.com" });
    try {
      await fetch(`${url}/trpc/task.stats`, { headers: { authorization: `Bearer ${token}` } });
      await fetch(`${url}/trpc/task.stats`, { headers: { authorization: "Bearer nope" } });
    } finally {
      server.close();
      await database.close();
      await testDb.drop();
    }
    const entries = lines.map((line) => JSON.parse(line));
    expect(entries[0]).toMatchObject({
      method: "GET",
      path: "/trpc/task.stats",
      procedure: "task.stats",
      status: 200,
      userId: "logged",
      requestId: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(entries[1]).toMatchObject({ status: 401 });
    expect(entries[1].userId).toBeUndefined();
    expect(lines.join("\n")).not.toContain(token.split(".")[2]);
  });
});

describe("configuration", () => {
  it("names every bad variable, without echoing values", () => {
    const secret = "short-secret";
    const error = (() => {
      try {
        loadConfig({
          PORT: "eighty",
          DATABASE_URL: "mysql://x",
          AUTH_JWT_SECRET: secret,
          LOG_LEVEL: "loud",
        });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of ["PORT", "DATABASE_URL", "AUTH_JWT_SECRET", "LOG_LEVEL"]) {
      expect(error?.message).toContain(name);
    }
    expect(error?.message).not.toContain(secret);
  });

  it("takes production rules unless development is asked for: auth required, one mode only", () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    };
    // Unset NODE_ENV is production.
    expect(problems({})).toMatch(/AUTH_JWKS_URL or AUTH_JWT_SECRET: one is required in production/);
    expect(loadConfig({ AUTH_JWT_SECRET: "x".repeat(32) }).env).toBe("production");
    expect(
      problems({ AUTH_JWKS_URL: "https://id.test/jwks", AUTH_JWT_SECRET: "x".repeat(32) }),
    ).toMatch(/not both/);
    const development = loadConfig({ NODE_ENV: "development" });
    expect(development.auth).toBeUndefined();
    expect(development.port).toBe(3000);
  });

  it("in production, a key set needs the issuer and the audience, and tokens have a maximum age", () => {
    const jwks = { AUTH_JWKS_URL: "https://id.test/jwks" };
    expect(() => loadConfig(jwks)).toThrow(
      /AUTH_ISSUER: required in production with AUTH_JWKS_URL\n {2}AUTH_AUDIENCE: required/,
    );
    const config = loadConfig({ ...jwks, AUTH_ISSUER: "https://id.test", AUTH_AUDIENCE: "tasks" });
    expect(config.auth).toMatchObject({ issuer: "https://id.test", audience: "tasks" });
    expect(config.auth?.maxTokenAgeSeconds).toBe(86_400);
    expect(loadConfig({ NODE_ENV: "development", ...jwks }).auth?.issuer).toBeUndefined();
    expect(() => loadConfig({ NODE_ENV: "development", AUTH_MAX_TOKEN_AGE_SECONDS: "0" })).toThrow(
      /AUTH_MAX_TOKEN_AGE_SECONDS/,
    );
  });

  it("bounds the request limits", () => {
    const dev = { NODE_ENV: "development" };
    expect(loadConfig(dev)).toMatchObject({ bodyLimitBytes: 102_400, batchMaxCalls: 20 });
    expect(loadConfig({ ...dev, BATCH_MAX_CALLS: "100" }).batchMaxCalls).toBe(100);
    expect(() => loadConfig({ ...dev, BATCH_MAX_CALLS: "101" })).toThrow(/BATCH_MAX_CALLS/);
    expect(() => loadConfig({ ...dev, BODY_LIMIT_BYTES: "1e9" })).toThrow(/BODY_LIMIT_BYTES/);
  });

  it("lets the development web app call the API, and nothing else unless configured", () => {
    expect(loadConfig({ NODE_ENV: "development" }).corsOrigins).toContain("http://localhost:3001");
    expect(loadConfig({ AUTH_JWT_SECRET: "x".repeat(32) }).corsOrigins).toEqual([]);
    expect(
      loadConfig({ NODE_ENV: "development", CORS_ORIGINS: "https://app.example.com" }).corsOrigins,
    ).toEqual(["https://app.example.com"]);
  });
});

describe("graceful shutdown", () => {
  it("finishes a request in flight, then closes", async () => {
    const testDb = await createTestDatabase();
    const app = await startApp(
      loadConfig({
        ...appDatabaseEnv(testDb.url),
        PORT: "0",
        AUTH_JWT_SECRET: SECRET,
        LOG_LEVEL: "silent",
      }),
      createLogger("silent"),
    );
    const token = await signToken({ sub: "slow", email: "slow@example.com" });
    const body = JSON.stringify({ json: { title: "in flight" } });
    const { hostname, port } = new URL(app.url);
    const response = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: "POST",
          path: "/trpc/task.create",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      // Half the body now, the rest after shutdown has begun.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = app.stop();
    expect(await response).toBe(200);
    await stopped;
    await expect(fetch(`${app.url}/health`)).rejects.toThrow();
    await testDb.drop();
  });
});
