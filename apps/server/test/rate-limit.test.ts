/**
 * Rate limits over real HTTP: per user on tRPC and REST (429 with Retry-After and the draft's
 * RateLimit and RateLimit-Policy fields), per address for calls without a valid token, a refused
 * batch runs nothing, and two server processes on one database allow the limit between them.
 */
import { appDatabaseEnv, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { awayFromWindowEdge, SECRET, signToken, startTestApi, type TestApi } from "./support.ts";

const USER_LIMIT = 10;
const ANONYMOUS_LIMIT = 5;

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(
    { mode: "secret", secret: SECRET },
    { rateLimits: { userPerMinute: USER_LIMIT, anonymousPerMinute: ANONYMOUS_LIMIT } },
  );
});
afterAll(async () => {
  await api?.stop();
});

const trpc = (url: string, path: string, token?: string, init: RequestInit = {}) =>
  fetch(`${url}/trpc/${path}`, {
    ...init,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      "content-type": "application/json",
    },
  });

type TrpcError = {
  error: { json: { message: string; data: { code: string; httpStatus: number } } };
};

function expectRefused(response: Response, policy: string, limit: number) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.get("ratelimit-policy")).toBe(`"${policy}";q=${limit};w=60`);
  expect(response.headers.get("ratelimit")).toBe(`"${policy}";r=0;t=${retryAfter}`);
}

describe("per user", () => {
  it("a user over the limit gets 429 with Retry-After and RateLimit fields, on tRPC and REST; another user does not", async () => {
    await awayFromWindowEdge(10_000);
    const alice = await signToken({ sub: "rl-alice", email: "rl-alice@example.com" });
    const bob = await signToken({ sub: "rl-bob", email: "rl-bob@example.com" });
    for (let i = 0; i < USER_LIMIT; i++) {
      const response = await trpc(api.url, "task.stats", alice);
      expect(response.status).toBe(200);
      expect(response.headers.get("ratelimit")).toMatch(
        new RegExp(`^"user";r=${USER_LIMIT - i - 1};t=\\d+$`),
      );
    }
    const refused = await trpc(api.url, "task.stats", alice);
    expectRefused(refused, "user", USER_LIMIT);
    const body = (await refused.json()) as TrpcError;
    expect(body.error.json.data).toMatchObject({ code: "TOO_MANY_REQUESTS", httpStatus: 429 });
    expect(body.error.json.message).toMatch(/^Too many requests: at most 10 calls per 60 s/);

    const rest = await fetch(`${api.url}/api/me`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expectRefused(rest, "user", USER_LIMIT);
    expect(await rest.json()).toEqual({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/^Too many requests/),
    });

    const other = await trpc(api.url, "task.stats", bob);
    expect(other.status).toBe(200);
    const otherRest = await fetch(`${api.url}/api/me`, {
      headers: { authorization: `Bearer ${bob}` },
    });
    expect(otherRest.status).toBe(200);
    expect(otherRest.headers.get("ratelimit")).toMatch(/^"user";r=8;t=\d+$/);
  });

  it("a batch of N calls costs N, and a refused batch runs nothing", async () => {
    await awayFromWindowEdge(10_000);
    const carol = await signToken({ sub: "rl-carol", email: "rl-carol@example.com" });
    for (let i = 0; i < USER_LIMIT - 3; i++) {
      expect((await trpc(api.url, "task.stats", carol)).status).toBe(200);
    }
    const creates = (n: number) =>
      trpc(api.url, `${Array.from({ length: n }, () => "task.create").join(",")}?batch=1`, carol, {
        method: "POST",
        body: JSON.stringify(
          Object.fromEntries(
            Array.from({ length: n }, (_, i) => [i, { json: { title: `t${i}` } }]),
          ),
        ),
      });
    const refused = await creates(4);
    expectRefused(refused, "user", USER_LIMIT);
    expect(await api.db.task.count({ where: { userId: "rl-carol" } })).toBe(0);
    const fits = await creates(3);
    expect(fits.status).toBe(200);
    expect(fits.headers.get("ratelimit")).toMatch(/^"user";r=0;t=\d+$/);
    expect(await api.db.task.count({ where: { userId: "rl-carol" } })).toBe(3);
  });
});

describe("per address", () => {
  it("calls without a valid token are limited per address, bad tokens included; a valid one is not", async () => {
    await awayFromWindowEdge(10_000);
    const statuses: number[] = [];
    for (let i = 0; i < ANONYMOUS_LIMIT; i++) {
      const guess = i % 2 === 0 ? `guessed.token.${i}` : undefined;
      statuses.push((await trpc(api.url, "task.stats", guess)).status);
    }
    expect(statuses).toEqual(Array(ANONYMOUS_LIMIT).fill(401));
    const refused = await trpc(api.url, "task.stats", "guessed.token.again");
    expectRefused(refused, "ip", ANONYMOUS_LIMIT);
    const forged = await signToken(
      { sub: "rl-eve", email: "rl-eve@example.com" },
      {
        key: new TextEncoder().encode("another-secret-that-is-long-enough-for-hs256"),
      },
    );
    expectRefused(
      await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${forged}` } }),
      "ip",
      ANONYMOUS_LIMIT,
    );

    const dave = await signToken({ sub: "rl-dave", email: "rl-dave@example.com" });
    expect((await trpc(api.url, "task.stats", dave)).status).toBe(200);
  });
});

describe("two server processes on one database", () => {
  const LIMIT = 50;
  /** Calls sent at once to each server per round; rounds are further apart than a settle. */
  const PER_SERVER = 5;
  const ROUNDS = 20;
  let database: TestDatabase;
  let servers: ServerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      ...appDatabaseEnv(database.url),
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_USER_PER_MINUTE: String(LIMIT),
    };
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });
  afterAll(async () => {
    for (const server of servers) server.signal("SIGTERM");
    await Promise.all(servers.map((server) => server.exited));
    await database?.drop();
  });

  it("allow the limit between them, not twice it", async () => {
    await awayFromWindowEdge(ROUNDS * 400);
    const token = await signToken({ sub: "rl-twin", email: "rl-twin@example.com" });
    let allowed = 0;
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(
        servers.flatMap((server) =>
          Array.from({ length: PER_SERVER }, () => trpc(server.url, "task.stats", token)),
        ),
      );
      for (const answer of answers) {
        if (answer.status === 200) allowed++;
        else if (answer.status === 429) refused++;
        await answer.arrayBuffer();
      }
      // Longer than the settle interval (100 ms) and its statement: each learns the other's count.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // The overshoot bound: each of the 2 instances may allow, past the limit, what reaches it
    // within one settle interval (here at most one round, PER_SERVER calls).
    expect(allowed).toBeGreaterThanOrEqual(LIMIT);
    expect(allowed).toBeLessThanOrEqual(LIMIT + servers.length * PER_SERVER);
    expect(allowed + refused).toBe(ROUNDS * servers.length * PER_SERVER);
  });
});
