/**
 * Each layer's cost, in this process, as a ratio against the same work without the layer
 * (the two called by turns): the scoped client against the unscoped one (a read and a write), the
 * task-counting trigger against the same INSERT without it, Prisma against the same SQL through
 * `pg`, the API's transformer and superjson against plain JSON for a page of 20 tasks, and the
 * API's token verifier.
 */
import { createTokenVerifier, taskSelect, transformer } from "@tasks/api";
import { appRoleUrl, createDb, forUser } from "@tasks/db";
import { jwtVerify } from "jose";
import pg from "pg";
import superjson from "superjson";
import { Bench } from "tinybench";
import { median } from "./report.ts";
import { AUTH, signBenchToken } from "./scenarios.ts";

export interface LayerCost {
  layer: string;
  with: string;
  without: string;
  withUs: number;
  withoutUs: number;
}

/** What the API selects of a task. */
const select = taskSelect;
const LIST_SQL = `SELECT "public"."tasks"."id", "public"."tasks"."title", "public"."tasks"."description",
  "public"."tasks"."completed", "public"."tasks"."priority"::text, "public"."tasks"."due_at",
  "public"."tasks"."created_at", "public"."tasks"."updated_at" FROM "public"."tasks"
  WHERE "public"."tasks"."user_id" = $1 ORDER BY "public"."tasks"."created_at" DESC,
  "public"."tasks"."id" DESC LIMIT $2 OFFSET $3`;

export async function measureLayers(url: string, sub: string, timeMs = 1000): Promise<LayerCost[]> {
  // The owner's client (which row-level security does not bind) for the unscoped layers; the
  // app's, as the API runs it, for the scoped ones.
  const database = await createDb({ url, poolMax: 1, rowSecurity: "off" });
  const app = await createDb({ url: appRoleUrl(url), poolMax: 1 });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = database.client;
  const scoped = forUser(app.client, sub);
  const scopedWithoutRls = forUser(db, sub);
  const orderBy = [{ createdAt: "desc" as const }, { id: "desc" as const }];
  const page = await db.task.findMany({ where: { userId: sub }, orderBy, take: 20, select });
  const envelope = JSON.stringify(superjson.serialize({ items: page, nextCursor: null }));
  const plain = JSON.stringify({ items: page, nextCursor: null });
  const token = await signBenchToken(sub);
  const verify = createTokenVerifier({ mode: "secret", ...AUTH });
  // More distinct tokens than the verifier keeps, taken in turn: each is a miss, as a new
  // client's first request is (the token's expiry tells them apart).
  const unseen = await Promise.all(
    Array.from({ length: 30_000 }, (_, i) => signBenchToken(sub, 3600 + i)),
  );
  let next = 0;
  const secret = new TextEncoder().encode(AUTH.secret);
  // Rows the write layers add, told apart by their title and removed at the end.
  const MARK = "layer cost row";
  // The same INSERT with triggers off (a superuser's session setting), to price the counting trigger.
  const untriggered = new pg.Pool({
    connectionString: url,
    max: 1,
    options: "-c session_replication_role=replica",
  });
  const INSERT_SQL = `INSERT INTO tasks (id, title, user_id, updated_at) VALUES (gen_random_uuid(), $1, $2, now())`;

  const pairs: [string, string, () => unknown, string, () => unknown][] = [
    [
      "row-level security, a read",
      "scoped findMany, as the app's role",
      () => scoped.task.findMany({ where: { AND: [] }, orderBy, take: 21, select }),
      "scoped findMany, as the owner with no setting sent",
      () => scopedWithoutRls.task.findMany({ where: { AND: [] }, orderBy, take: 21, select }),
    ],
    [
      "row-level security, a write",
      "scoped create, as the app's role",
      () => scoped.task.create({ data: { title: MARK, userId: sub }, select }),
      "scoped create, as the owner with no setting sent",
      () => scopedWithoutRls.task.create({ data: { title: MARK, userId: sub }, select }),
    ],
    [
      "row-level security: our one round trip against Prisma's example (a transaction each)",
      "scoped findMany, the user's setting in the same round trip",
      () => scoped.task.findMany({ where: { AND: [] }, orderBy, take: 21, select }),
      "$transaction([set_config, findMany]): BEGIN, set, query, COMMIT",
      () =>
        app.client.$transaction([
          app.client.$executeRaw`SELECT set_config('app.user_id', ${sub}, true)`,
          app.client.task.findMany({ where: { userId: sub }, orderBy, take: 21, select }),
        ]),
    ],
    [
      "scoped client (forUser)",
      "scoped findMany",
      () => scopedWithoutRls.task.findMany({ where: { AND: [] }, orderBy, take: 21, select }),
      "unscoped findMany",
      () => db.task.findMany({ where: { userId: sub }, orderBy, take: 21, select }),
    ],
    [
      "scoped client, a write",
      "scoped create",
      () => scopedWithoutRls.task.create({ data: { title: MARK, userId: sub }, select }),
      "unscoped create",
      () => db.task.create({ data: { title: MARK, userId: sub }, select }),
    ],
    [
      "the task-counting trigger (INSERT)",
      "INSERT through pg",
      () => pool.query(INSERT_SQL, [MARK, sub]),
      "the same INSERT with triggers off",
      () => untriggered.query(INSERT_SQL, [MARK, sub]),
    ],
    [
      "Prisma",
      "unscoped findMany",
      () => db.task.findMany({ where: { userId: sub }, orderBy, take: 21, select }),
      "the same SQL through pg",
      () => pool.query(LIST_SQL, [sub, 21, 0]),
    ],
    [
      "the API's transformer, serialize (page of 20)",
      "transformer.serialize + JSON.stringify",
      () => JSON.stringify(transformer.serialize({ items: page, nextCursor: null })),
      "JSON.stringify",
      () => JSON.stringify({ items: page, nextCursor: null }),
    ],
    [
      "superjson, serialize (page of 20)",
      "superjson.serialize + JSON.stringify",
      () => JSON.stringify(superjson.serialize({ items: page, nextCursor: null })),
      "JSON.stringify",
      () => JSON.stringify({ items: page, nextCursor: null }),
    ],
    [
      "superjson, deserialize (page of 20)",
      "JSON.parse + superjson.deserialize",
      () => superjson.deserialize(JSON.parse(envelope)),
      "JSON.parse",
      () => JSON.parse(plain),
    ],
    [
      "token verification, a token seen before",
      "the API's verifier",
      () => verify(token),
      "jose jwtVerify alone",
      () => jwtVerify(token, secret, { algorithms: ["HS256"] }),
    ],
    [
      "token verification, a token not seen before",
      "the API's verifier, a new token each call",
      () => verify(unseen[next++ % unseen.length] as string),
      "jose jwtVerify alone",
      () => jwtVerify(token, secret, { algorithms: ["HS256"] }),
    ],
  ];
  try {
    const costs: LayerCost[] = [];
    for (const [layer, withName, withFn, withoutName, withoutFn] of pairs) {
      const { a, b } = await interleaved(withFn, withoutFn, timeMs);
      costs.push({
        layer,
        with: withName,
        without: withoutName,
        withUs: median(a) * 1000,
        withoutUs: median(b) * 1000,
      });
    }
    return costs;
  } finally {
    await untriggered.query("DELETE FROM tasks WHERE user_id = $1 AND title = $2", [sub, MARK]);
    // Rows inserted with triggers off were never counted: count the user's tasks afresh.
    await pool.query(
      "UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE user_id = $1) WHERE id = $1",
      [sub],
    );
    await untriggered.end();
    await pool.end();
    await database.close();
    await app.close();
  }
}

/**
 * Runs `a` and `b` by turns (a b, b a, a b, …) for `timeMs` after a warm-up, timing each call on
 * its own, so that both see the same machine: on a shared machine, two runs one after the other
 * can differ by more than the layer costs. Returns each one's call times (ms).
 */
async function interleaved(
  a: () => unknown,
  b: () => unknown,
  timeMs: number,
): Promise<{ a: number[]; b: number[] }> {
  const times = { a: [] as number[], b: [] as number[] };
  const time = async (fn: () => unknown, into: number[]) => {
    const started = performance.now();
    await fn();
    into.push(performance.now() - started);
  };
  for (const phase of ["warm-up", "measure"] as const) {
    const into = phase === "measure" ? times : { a: [], b: [] };
    const until = performance.now() + (phase === "measure" ? timeMs : 200);
    for (let turn = 0; performance.now() < until; turn++) {
      if (turn % 2 === 0) {
        await time(a, into.a);
        await time(b, into.b);
      } else {
        await time(b, into.b);
        await time(a, into.a);
      }
    }
  }
  return times;
}

export interface GrowthPoint {
  label: string;
  medianUs: number;
  p99Us: number;
}

/** The list query of `task.list` (first page, through the scoped client) for one user. */
export async function measureList(url: string, sub: string, timeMs = 1000): Promise<GrowthPoint> {
  const database = await createDb({ url: appRoleUrl(url), poolMax: 1 });
  try {
    const scoped = forUser(database.client, sub);
    const orderBy = [{ createdAt: "desc" as const }, { id: "desc" as const }];
    const bench = new Bench({ time: timeMs, warmupTime: 200 });
    bench.add(sub, () => scoped.task.findMany({ where: { AND: [] }, orderBy, take: 21, select }));
    await bench.warmup();
    await bench.run();
    const result = bench.tasks[0]?.result;
    return {
      label: sub,
      medianUs: median(result?.samples ?? []) * 1000,
      p99Us: (result?.p99 ?? Number.NaN) * 1000,
    };
  } finally {
    await database.close();
  }
}
