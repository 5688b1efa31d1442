/**
 * The embedded database under parallel requests from pooled clients, as when
 * the web app and the API share it: every query gets its own result, and
 * transactions are not entered by other connections.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { serveEmbedded } from "../src/embedded.ts";

interface Outcome {
  /** Results that belong to another query. */
  wrong: number;
  /** Queries that failed though they were valid (e.g. "portal does not exist"). */
  failed: number;
  /** Queries that failed as they should (division by zero). */
  refused: number;
}

/**
 * Two pools of four connections (two processes, say) send mixed parameterised
 * statements, failing statements and short transactions, all at once.
 */
async function parallelLoad(url: string, statements = 600): Promise<Outcome> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query("CREATE TABLE IF NOT EXISTS load (id int PRIMARY KEY, v text)");
  await setup.end();
  const pools = [0, 1].map(() => new pg.Pool({ connectionString: url, max: 4 }));
  const outcome: Outcome = { wrong: 0, failed: 0, refused: 0 };
  // Broken connections are counted through their queries; the pool must not crash the test.
  for (const pool of pools) pool.on("error", () => {});

  async function statement(pool: pg.Pool, i: number) {
    if (i % 5 === 0) {
      await pool.query("SELECT 1 / $1::int", [0]).then(
        () => outcome.wrong++,
        (error: { code?: string }) =>
          error.code === "22012" ? outcome.refused++ : outcome.failed++,
      );
      return;
    }
    if (i % 5 === 1) {
      const client = await pool.connect();
      client.on("error", () => {});
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO load VALUES ($1, $2)", [i, `v${i}`]);
        const { rows } = await client.query("SELECT v FROM load WHERE id = $1", [i]);
        if (rows[0]?.v !== `v${i}`) outcome.wrong++;
        await client.query("ROLLBACK");
      } finally {
        client.release(true);
      }
      return;
    }
    const { rows } = await pool.query(
      "SELECT $1::int AS n, $2::text AS s, repeat('x', $3) AS pad",
      [i, `v${i}`, i * 50],
    );
    if (rows[0]?.n !== i || rows[0]?.s !== `v${i}`) outcome.wrong++;
  }

  await Promise.all(
    Array.from({ length: statements }, (_, i) =>
      statement(pools[i % 2] as pg.Pool, i).catch(() => outcome.failed++),
    ),
  );
  await Promise.all(pools.map((pool) => pool.end()));
  return outcome;
}

describe("the embedded database under parallel requests", () => {
  it("gives every statement of every connection its own result", async () => {
    const server = await serveEmbedded();
    try {
      const outcome = await parallelLoad(server.url);
      expect(outcome).toEqual({ wrong: 0, failed: 0, refused: 120 });
      // Nothing was left behind by the rolled-back transactions.
      expect(await countRows(server.url)).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("keeps other connections out of an open transaction until it ends", async () => {
    const server = await serveEmbedded();
    const owner = new pg.Client({ connectionString: server.url });
    const other = new pg.Client({ connectionString: server.url });
    try {
      await Promise.all([owner.connect(), other.connect()]);
      await owner.query("CREATE TABLE held (n int)");
      await owner.query("BEGIN");
      await owner.query("INSERT INTO held VALUES (1)");
      let seen: number | undefined;
      const waiting = other.query("SELECT count(*)::int AS n FROM held").then(({ rows }) => {
        seen = rows[0].n;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toBeUndefined();
      await owner.query("INSERT INTO held VALUES (2)");
      await owner.query("COMMIT");
      await waiting;
      expect(seen).toBe(2);
    } finally {
      await Promise.all([owner.end(), other.end()]);
      await server.close();
    }
  });

  it("rolls back the transaction of a connection that goes away, and serves the others", async () => {
    const server = await serveEmbedded();
    const leaver = new pg.Client({ connectionString: server.url });
    const other = new pg.Client({ connectionString: server.url });
    try {
      await Promise.all([leaver.connect(), other.connect()]);
      await leaver.query("CREATE TABLE left_behind (n int)");
      await leaver.query("BEGIN");
      await leaver.query("INSERT INTO left_behind VALUES (1)");
      const waiting = other.query("SELECT count(*)::int AS n FROM left_behind");
      await leaver.end();
      expect((await waiting).rows).toEqual([{ n: 0 }]);
    } finally {
      await other.end();
      await server.close();
    }
  });

  // Why the queue exists: pglite-socket's own queue, under the same load, mixes
  // up exchanges. Should a release fix that, this fails and the queue can go.
  it("pglite-socket's own queue interleaves the same load", async () => {
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, port: 0, maxConnections: 32 });
    await server.start();
    try {
      const url = `postgres://postgres@${server.getServerConn()}/postgres`;
      let mixedUp = 0;
      for (let round = 0; round < 5 && mixedUp === 0; round++) {
        const { wrong, failed } = await parallelLoad(url);
        mixedUp = wrong + failed;
      }
      expect(mixedUp).toBeGreaterThan(0);
    } finally {
      await server.stop();
      await db.close();
    }
  });
});

describe("LISTEN on the one session", () => {
  it("hands each committed notification to every connection that listens on its channel, once", async () => {
    const server = await serveEmbedded();
    const listeners = [0, 1].map(() => new pg.Client({ connectionString: server.url }));
    const writer = new pg.Pool({ connectionString: server.url, max: 3 });
    try {
      const heard = listeners.map(() => [] as string[]);
      for (const [index, client] of listeners.entries()) {
        await client.connect();
        client.on("notification", ({ channel, payload }) =>
          heard[index]?.push(`${channel}:${payload}`),
        );
      }
      await listeners[0]?.query("LISTEN changes");
      await listeners[1]?.query("LISTEN changes");
      await listeners[1]?.query("LISTEN other");
      // Payloads large enough to cross chunks of the answer, sent in parallel with other work.
      const big = "x".repeat(5_000);
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const client = await writer.connect();
          try {
            await client.query("BEGIN");
            await client.query("SELECT pg_notify('changes', $1)", [`${i}:${big}`]);
            await client.query(i % 3 === 0 ? "ROLLBACK" : "COMMIT");
          } finally {
            client.release();
          }
        }),
      );
      await writer.query("SELECT pg_notify('other', 'o')");
      await listeners[0]?.query("UNLISTEN changes");
      await writer.query("SELECT pg_notify('changes', 'after')");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const committed = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0);
      const sorted = (lines: string[] = []) =>
        lines
          .filter((line) => line.startsWith("changes:"))
          .map((line) => Number(line.split(":")[1]))
          .sort((a, b) => a - b);
      expect(sorted(heard[0])).toEqual(committed);
      expect(heard[0]?.some((line) => line.startsWith("other:") || line === "changes:after")).toBe(
        false,
      );
      expect(
        heard[1]?.filter((line) => line.startsWith("changes:") && line !== "changes:after"),
      ).toHaveLength(committed.length);
      expect(heard[1]).toContain("other:o");
      expect(heard[1]).toContain("changes:after");
      for (const line of heard[1] ?? [])
        if (/^changes:\d/.test(line)) expect(line.endsWith(big)).toBe(true);
    } finally {
      for (const client of listeners) await client.end();
      await writer.end();
      await server.close();
    }
  });
});

async function countRows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query("SELECT count(*)::int AS n FROM load")).rows[0].n;
  } finally {
    await client.end();
  }
}
