// The benchmark's smoke variant, for CI: a few hundred seeded rows, the API (in this process,
// through createApiServer, as the API suite runs it) and the baseline on one test database; every
// measured request gets a 200 from both, with the same result.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApiRateLimiter, createTokenVerifier } from "@tasks/api";
import { connectTestDb, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { createLogger } from "@tasks/server/src/logger.ts";
import { createApiServer } from "@tasks/server/src/server.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBaselineServer } from "../src/baseline.ts";
import { AUTH, type Request, sampleUsers, scenarios } from "../src/scenarios.ts";
import { seed } from "../src/seed.ts";

const SIZE = { users: 4, tasks: 600 };
let testDb: TestDatabase;
const stops: (() => Promise<void>)[] = [];
const urls = { api: "", baseline: "" };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  const database = await connectTestDb(testDb.url);
  // On, as the benchmark runs the API, and above its load.
  const rateLimiter = createApiRateLimiter(database.client, {
    userPerMinute: 1_000_000,
    anonymousPerMinute: 1_000_000,
  });
  const api = createApiServer({
    config: {
      corsOrigins: [],
      bodyLimitBytes: 100 * 1024,
      batchMaxCalls: 20,
      knownUserTtlMs: 60_000,
      requestTimeoutMs: 10_000,
    },
    database,
    verifyToken: createTokenVerifier({ mode: "secret", ...AUTH }),
    rateLimiter,
    logger: createLogger("silent"),
  });
  urls.api = await listen(api);
  stops.push(async () => {
    api.closeAllConnections();
    await new Promise((done) => api.close(done));
    await rateLimiter?.close();
    await database.close();
  });
  const baseline = createBaselineServer({ databaseUrl: testDb.url, poolMax: 4, ...AUTH });
  urls.baseline = await listen(baseline.server);
  stops.push(baseline.close);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await testDb?.drop();
});

async function call(base: string, request: Request) {
  const response = await fetch(`${base}${request.path}`, request);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Ids and instants that differ between two creates or updates by construction. */
function stable(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body)
      .replace(/"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"/g, '"<uuidv7>"')
      .replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/g, '"<instant>"'),
  );
}

it("seeds once, and reuses the seed", async () => {
  const first = await seed(testDb.url, SIZE);
  expect(first.reused).toBe(false);
  expect((await seed(testDb.url, SIZE)).reused).toBe(true);
});

it("the API and the baseline answer every measured request alike", async () => {
  const users = await sampleUsers(testDb.url, SIZE.users, SIZE.users);
  expect(users.every((user) => user.cursor !== null)).toBe(true);
  for (const scenario of scenarios(users)) {
    for (let i = 0; i < SIZE.users * 2; i++) {
      const request = scenario.next();
      const api = await call(urls.api, request);
      const baseline = await call(urls.baseline, request);
      expect(api.status, `${scenario.name}: ${JSON.stringify(api.body)}`).toBe(200);
      expect(baseline.status, `${scenario.name}: ${JSON.stringify(baseline.body)}`).toBe(200);
      if (scenario.name.startsWith("REST")) {
        expect(baseline.body, scenario.name).toEqual(api.body);
        expect((api.body as { items: unknown[] }).items).toHaveLength(20);
        continue;
      }
      const data = (api.body.result as { data: { json: unknown } }).data;
      if (scenario.name === "task.create" || scenario.name === "task.update") {
        expect(stable(baseline.body), scenario.name).toEqual(stable(api.body));
      } else {
        expect(baseline.body, scenario.name).toEqual(api.body);
      }
      if (scenario.name.startsWith("task.list")) {
        expect((data.json as { items: unknown[] }).items).toHaveLength(20);
      }
    }
  }
});

it("both refuse a request without a token with a 401", async () => {
  for (const base of [urls.api, urls.baseline]) {
    const response = await fetch(`${base}/trpc/task.stats`);
    expect(response.status).toBe(401);
  }
});
