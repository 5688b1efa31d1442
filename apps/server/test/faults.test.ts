// What the server depends on fails under it. The database: stopped, frozen, killed mid-write,
// or not up yet at start; the server answers 503 quickly and says so in its log, never leaks the
// connection string, and serves again by itself when the database is back. The identity
// provider's JWKS endpoint: down or slow; known keys keep working, and nothing hangs.
import { createServer } from "node:http";
import { Writable } from "node:stream";
import { appDatabaseEnv, testServerUrl } from "@tasks/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, startApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import {
  behindNeonProxy,
  canCreateClusters,
  createFaultyPglite,
  createFaultyPostgres,
  type FaultyDatabase,
} from "./faulty-database.ts";
import {
  AUDIENCE,
  ISSUER,
  listen,
  SECRET,
  signToken,
  startJwks,
  startTestApi,
  type TestApi,
} from "./support.ts";

/** The configured time a request may wait for the database. */
const TIMEOUT_MS = 1_500;

// With a PostgreSQL server, the faults are real ones of a PostgreSQL cluster of the tests' own
// (which needs Debian's cluster tools and root, as CI has); without one, of an embedded PGlite.
const onPostgres = Boolean(testServerUrl());
const runnable = !onPostgres || canCreateClusters() || Boolean(process.env.CI);

let underlying: FaultyDatabase | undefined;
const createUnderlying = async () => {
  underlying ??= await (onPostgres ? createFaultyPostgres() : createFaultyPglite());
  return underlying;
};
afterAll(() => underlying?.drop());

describe.runIf(runnable).for([
  {
    driver: onPostgres ? "node-postgres on PostgreSQL" : "node-postgres on PGlite",
    create: createUnderlying,
  },
  {
    driver: "Neon's serverless driver",
    create: async () => behindNeonProxy(await createUnderlying()),
  },
])("database faults, $driver", ({ create }) => {
  let database: FaultyDatabase;
  const logs: string[] = [];
  const started: App[] = [];

  beforeAll(async () => {
    database = await create();
  });
  afterAll(async () => {
    for (const app of started) await app.stop();
    if (database !== underlying) await database?.drop();
  });

  async function start(env: Record<string, string> = {}): Promise<App> {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(...String(chunk).trim().split("\n"));
        done();
      },
    });
    const app = await startApp(
      loadConfig({
        ...appDatabaseEnv(database.url),
        PORT: "0",
        AUTH_JWT_SECRET: SECRET,
        DATABASE_TIMEOUT_MS: String(TIMEOUT_MS),
        ...database.env,
        ...env,
      }),
      createLogger("info", sink),
    );
    started.push(app);
    return app;
  }

  let token: string;
  beforeAll(async () => {
    token = await signToken({ sub: "faulty", email: "faulty@example.com" });
  });

  /** A tRPC call over raw HTTP: its status, body and how long it took. */
  async function call(app: App, path: string, body?: unknown) {
    const began = performance.now();
    const response = await fetch(`${app.url}/trpc/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify({ json: body }),
    });
    const text = await response.text();
    return { status: response.status, text, ms: performance.now() - began };
  }

  async function until(condition: () => Promise<boolean>, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const ready = async (app: App) => (await fetch(`${app.url}/ready`)).status === 200;

  function expectNoSecrets(text: string) {
    expect(text).not.toContain(database.password);
    expect(text).not.toContain(database.url);
  }

  it("stopped: requests get 503 at once, /ready is 503, the log says why; then it serves again", async () => {
    const app = await start();
    expect((await call(app, "task.create", { title: "before" })).status).toBe(200);
    logs.length = 0;

    await database.stop("fast");
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const failed = await call(app, "task.list");
        expect(failed.status).toBe(503);
        expect(JSON.parse(failed.text).error.json.message).toBe(
          "The database is unavailable; try again shortly.",
        );
        expect(failed.ms).toBeLessThan(TIMEOUT_MS + 1_000);
        expectNoSecrets(failed.text);
      }
      expect((await fetch(`${app.url}/ready`)).status).toBe(503);
      const warnings = logs.map((line) => JSON.parse(line)).filter((line) => line.level === 40);
      expect(warnings).toContainEqual(
        expect.objectContaining({
          msg: "The database is unavailable; try again shortly.",
          procedure: "task.list",
          reason: expect.any(String),
        }),
      );
      expectNoSecrets(logs.join("\n"));
    } finally {
      await database.start();
    }
    const restarted = performance.now();
    await until(() => ready(app));
    const back = await call(app, "task.list");
    expect(back.status).toBe(200);
    expect(back.text).toContain("before");
    console.info(
      `serving again ${Math.round(performance.now() - restarted)} ms after the database`,
    );
  });

  it("frozen: no request waits past the configured timeout; it serves again once thawed", async () => {
    const app = await start();
    expect((await call(app, "task.stats")).status).toBe(200);

    await database.freeze();
    try {
      const [list, create] = await Promise.all([
        call(app, "task.list"),
        call(app, "task.create", { title: "frozen" }),
      ]);
      for (const failed of [list, create]) {
        expect(failed.status).toBe(503);
        expect(failed.ms).toBeLessThan(TIMEOUT_MS * 2 + 1_000);
      }
      expect((await fetch(`${app.url}/ready`)).status).toBe(503);
    } finally {
      await database.thaw();
    }
    await until(() => ready(app));
    expect((await call(app, "task.stats")).status).toBe(200);
  });

  it("killed mid-write: every acknowledged write is there, and nothing half-written", async () => {
    const app = await start();
    expect((await call(app, "task.stats")).status).toBe(200);
    const burst = `burst-${Math.random().toString(36).slice(2)}`;
    const titles = Array.from({ length: 40 }, (_, i) => `${burst} ${i}`);

    const writes = titles.map((title) => call(app, "task.create", { title, description: title }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await database.stop("immediate");
    const results = await Promise.all(writes).finally(() => database.start());
    const failures = () => logs.filter((line) => line.includes('"procedure failed"')).join("\n");
    for (const result of results) expect([200, 503], failures()).toContain(result.status);
    await until(() => ready(app));
    const page = await fetch(
      `${app.url}/trpc/task.list?input=${encodeURIComponent(JSON.stringify({ json: { search: burst, limit: 100 } }))}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    const body = (await page.json()) as {
      result: { data: { json: { items: { title: string; description: string }[] } } };
    };
    const stored = body.result.data.json.items;
    // A write whose answer was lost may have committed; one that was acknowledged must have.
    const acknowledged = results.flatMap((result, i) => (result.status === 200 ? [titles[i]] : []));
    for (const title of acknowledged) expect(stored.map((task) => task.title)).toContain(title);
    for (const task of stored) expect(task.description).toBe(task.title);
    console.info(
      `${acknowledged.length} of ${titles.length} writes acknowledged, ${stored.length} stored`,
    );
  });

  it("not up at start: the server retries with backoff, says so, and starts when it is", async () => {
    await database.stop();
    const starting = start({ DATABASE_STARTUP_WAIT_SECONDS: "30" });
    await until(async () =>
      logs.some((line) => line.includes("database not reachable yet")),
    ).finally(() => database.start());
    const app = await starting;
    expect((await call(app, "task.stats")).status).toBe(200);
    expectNoSecrets(logs.join("\n"));
  });

  it("not up at start, with no waiting configured: the server stops with a clear message", async () => {
    await database.stop();
    try {
      await expect(start({ DATABASE_STARTUP_WAIT_SECONDS: "0" })).rejects.toThrow(
        "The database is not reachable (DATABASE_STARTUP_WAIT_SECONDS=0: not retrying).",
      );
    } finally {
      await database.start();
    }
  });
});

/** A JWKS endpoint that can go down (connections dropped) or slow (no answer). */
async function startFlakyJwks() {
  const jwks = await startJwks();
  let state: "up" | "down" | "slow" = "up";
  const proxy = createServer((req, res) => {
    if (state === "down") return req.socket.destroy();
    if (state === "slow") return; // never answers; closed with the server
    fetch(jwks.url)
      .then((upstream) => upstream.text())
      .then((body) => res.writeHead(200, { "content-type": "application/json" }).end(body));
  });
  const url = `${await listen(proxy)}/jwks.json`;
  return {
    ...jwks,
    url,
    set: (next: typeof state) => {
      state = next;
    },
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((closed) => proxy.close(closed));
      await jwks.close();
    },
  };
}

describe("identity provider faults", () => {
  const JWKS_TIMEOUT_MS = 500;
  let jwks: Awaited<ReturnType<typeof startFlakyJwks>>;
  const apis: TestApi[] = [];
  beforeAll(async () => {
    jwks = await startFlakyJwks();
  });
  afterAll(async () => {
    for (const api of apis) await api.stop();
    await jwks?.close();
  });

  async function startApi() {
    const api = await startTestApi({
      mode: "jwks",
      jwksUrl: new URL(jwks.url),
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksTimeoutMs: JWKS_TIMEOUT_MS,
    });
    apis.push(api);
    return api;
  }

  async function me(api: TestApi, token: string) {
    const began = performance.now();
    const response = await fetch(`${api.url}/trpc/user.me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, ms: performance.now() - began };
  }

  const claims = { sub: "idp", email: "idp@example.com" };

  it("down: known keys keep working from the cache; an unknown key is a 401", async () => {
    const api = await startApi();
    expect((await me(api, await signToken(claims, { jwks }))).status).toBe(200);

    jwks.set("down");
    try {
      expect((await me(api, await signToken(claims, { jwks }))).status).toBe(200);
      const unknown = await signToken(claims, { jwks, kid: "rotated-key" });
      expect((await me(api, unknown)).status).toBe(401);
    } finally {
      jwks.set("up");
    }
  });

  it("down or slow with no keys known: 503 within the timeout, never a hang; then it recovers", async () => {
    const api = await startApi();
    const token = await signToken(claims, { jwks });
    for (const state of ["down", "slow"] as const) {
      jwks.set(state);
      const failed = await me(api, token);
      expect(failed.status, state).toBe(503);
      expect(failed.ms, state).toBeLessThan(JWKS_TIMEOUT_MS + 1_000);
    }
    jwks.set("up");
    expect((await me(api, token)).status).toBe(200);
  });
});
