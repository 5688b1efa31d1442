/** The rate limiter against a real database: exact counts, windows, batching, the store down. */
import { createDb, type Database } from "@tasks/db";
import { useTestDb } from "@tasks/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientAddress,
  createRateLimiter,
  type RateLimiterOptions,
  type RateLimitStore,
  rateLimitHeaders,
} from "../src/rate-limit.ts";

const testDb = useTestDb();
/** A client on a port where nothing listens: every statement fails to connect. */
let closed: Database;

beforeAll(async () => {
  closed = await createDb({
    url: "postgres://postgres@127.0.0.1:9/none",
    connectionTimeoutMs: 500,
  });
});
afterAll(async () => {
  await closed.close();
});

/** A clock the test moves; windows of 60 s start at multiples of 60 000 ms. */
function fakeClock(start = 1_800_000_000_000) {
  let at = start;
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

/** A store that counts its statements and can be pointed at the closed port. */
function switchableStore() {
  const state = { down: false, statements: 0 };
  const target = () => (state.down ? closed.client : testDb.client);
  const store: RateLimitStore = {
    $queryRaw: ((query: TemplateStringsArray, ...values: unknown[]) => {
      state.statements++;
      return target().$queryRaw(query, ...values);
    }) as RateLimitStore["$queryRaw"],
    $executeRaw: ((query: TemplateStringsArray, ...values: unknown[]) =>
      target().$executeRaw(query, ...values)) as RateLimitStore["$executeRaw"],
  };
  return { store, state };
}

let keySeq = 0;
const uniqueId = (name: string) => `${name}-${++keySeq}-${Date.now()}`;

function limiter(options: Partial<RateLimiterOptions> & Pick<RateLimiterOptions, "store">) {
  // A long interval: the tests settle when they choose to.
  return createRateLimiter({
    policies: { user: 50 },
    windowSeconds: 60,
    settleIntervalMs: 60_000,
    ...options,
  });
}

async function storedHits(key: string): Promise<number> {
  const rows = await testDb.client.$queryRaw<{ hits: number }[]>`
    SELECT sum(hits)::int AS hits FROM rate_limit_hits WHERE key = ${key}`;
  return rows[0]?.hits ?? 0;
}

describe("rate limiter", () => {
  it("allows exactly the limit within one process, settled or not", async () => {
    const { store } = switchableStore();
    const clock = fakeClock();
    const rl = limiter({ store, now: clock.now });
    const id = uniqueId("exact");
    let allowed = 0;
    for (let i = 0; i < 80; i++) {
      if (rl.consume("user", id)?.allowed) allowed++;
      if (i % 7 === 0) await rl.settle();
    }
    await rl.close();
    expect(allowed).toBe(50);
    expect(await storedHits(`user:${id}`)).toBe(50);
  });

  it("answers the limit, what is left and the seconds to the window's end", async () => {
    const { store } = switchableStore();
    const clock = fakeClock();
    clock.advance(43_000);
    const rl = limiter({ store, now: clock.now });
    const id = uniqueId("fields");
    expect(rl.consume("user", id, 10)).toMatchObject({
      allowed: true,
      limit: 50,
      remaining: 40,
      resetSeconds: 17,
    });
    const refused = rl.consume("user", id, 41);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 17 });
    expect(rateLimitHeaders(refused as NonNullable<typeof refused>)).toEqual({
      "ratelimit-policy": '"user";q=50;w=60',
      ratelimit: '"user";r=0;t=17',
      "retry-after": "17",
    });
    // A refused cost is not counted: a smaller one still fits.
    expect(rl.consume("user", id, 40)?.allowed).toBe(true);
    expect(rl.consume("user", id)?.allowed).toBe(false);
    await rl.close();
  });

  it("a policy of 0 is off", async () => {
    const { store } = switchableStore();
    const rl = limiter({ store, policies: { user: 0 } });
    expect(rl.consume("user", "anyone", 1000)).toBeNull();
    await rl.close();
  });

  it("the window resets, and past windows are deleted", async () => {
    const { store } = switchableStore();
    const clock = fakeClock();
    const rl = limiter({ store, now: clock.now });
    const id = uniqueId("reset");
    expect(rl.consume("user", id, 50)?.allowed).toBe(true);
    expect(rl.consume("user", id)?.allowed).toBe(false);
    await rl.settle();
    clock.advance(60_000);
    expect(rl.consume("user", id, 50)?.allowed).toBe(true);
    await rl.settle();
    const windows = await testDb.client.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM rate_limit_hits WHERE key = ${`user:${id}`}`;
    expect(windows[0]?.n).toBe(1);
    await rl.close();
  });

  it("two processes share the count: each learns the other's hits when it settles", async () => {
    const { store } = switchableStore();
    const clock = fakeClock();
    const a = limiter({ store, now: clock.now });
    const b = limiter({ store, now: clock.now });
    const id = uniqueId("shared");
    for (let i = 0; i < 30; i++) expect(a.consume("user", id)?.allowed).toBe(true);
    await a.settle();
    // b has not settled yet: it allows on what it knows (the overshoot bound), then learns.
    expect(b.consume("user", id)?.allowed).toBe(true);
    await b.settle();
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (b.consume("user", id)?.allowed) allowed++;
    expect(allowed).toBe(50 - 31);
    await b.settle();
    // a still knows 30: its next hit passes, and its settle learns that the limit is reached.
    expect(a.consume("user", id)?.allowed).toBe(true);
    await a.settle();
    expect(a.consume("user", id)?.allowed).toBe(false);
    expect(b.consume("user", id)?.allowed).toBe(false);
    expect(await storedHits(`user:${id}`)).toBe(51);
    await Promise.all([a.close(), b.close()]);
  });

  it("sends many hits of many keys in few statements", async () => {
    const { store, state } = switchableStore();
    const rl = createRateLimiter({
      store,
      policies: { user: 1000 },
      windowSeconds: 60,
      settleIntervalMs: 100,
    });
    const ids = Array.from({ length: 50 }, () => uniqueId("batch"));
    const started = performance.now();
    let consumed = 0;
    // 1,250 hits over at least 125 ms; on a loaded machine, longer.
    for (let round = 0; round < 25; round++) {
      for (const id of ids) rl.consume("user", id);
      consumed += ids.length;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsed = performance.now() - started;
    await rl.close();
    // About one statement per 100 ms (and one at close), whatever the number of hits and keys:
    // one per key, or per hit, would be hundreds.
    expect(state.statements).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 3);
    const total = await testDb.client.$queryRaw<{ hits: number }[]>`
      SELECT sum(hits)::int AS hits FROM rate_limit_hits WHERE key = ANY(${ids.map((id) => `user:${id}`)}::text[])`;
    expect(total[0]?.hits).toBe(consumed);
  });

  it("with the store down, limits per process, says so once, and once more when it recovers", async () => {
    const { store, state } = switchableStore();
    const clock = fakeClock();
    const errors: string[] = [];
    let recovered = 0;
    const rl = limiter({
      store,
      now: clock.now,
      onStoreError: (message) => errors.push(message),
      onStoreRecovered: () => recovered++,
    });
    const id = uniqueId("down");
    for (let i = 0; i < 20; i++) rl.consume("user", id);
    await rl.settle();
    state.down = true;
    let allowed = 0;
    for (let i = 0; i < 60; i++) {
      if (rl.consume("user", id)?.allowed) allowed++;
      if (i % 10 === 0) await rl.settle();
    }
    // The 20 settled ones and this process's own count: the limit holds.
    expect(allowed).toBe(30);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/reach/i);
    expect(errors[0]).not.toContain("postgres://");
    expect(errors[0]).not.toContain("\n");
    expect(recovered).toBe(0);

    state.down = false;
    await rl.settle();
    await rl.settle();
    expect(recovered).toBe(1);
    expect(errors).toHaveLength(1);
    // What was counted while the store was down reached it.
    expect(await storedHits(`user:${id}`)).toBe(50);
    await rl.close();
  });

  it("takes the address the trusted proxies saw", () => {
    expect(clientAddress("10.0.0.1", "6.6.6.6, 1.2.3.4", 0)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "6.6.6.6, 1.2.3.4", 1)).toBe("1.2.3.4");
    expect(clientAddress("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", 2)).toBe("1.2.3.4");
    expect(clientAddress("10.0.0.1", undefined, 1)).toBe("10.0.0.1");
  });
});
