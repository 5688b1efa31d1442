/** The requests of each measured procedure, for a sample of seeded users, as tRPC sends them. */
import { SignJWT } from "jose";
import pg from "pg";
import { encodeCursor } from "./baseline.ts";
import { BENCH_USER, CREATED_TITLE } from "./seed.ts";

export const AUTH = {
  secret: "bench-secret-that-is-long-enough-for-hs256!",
  issuer: "https://issuer.bench",
  audience: "tasks-api",
};

export interface Request {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Scenario {
  name: string;
  next(): Request;
}

export interface Sampled {
  sub: string;
  token: string;
  taskId: string;
  /** The cursor of the fifth page (after 100 tasks). */
  cursor: string | null;
}

const input = (value: unknown) => encodeURIComponent(JSON.stringify({ json: value }));

/**
 * A token for the whole run: a bench with every comparison takes more than an hour, and a token
 * that expired midway would turn the last rounds into fast 401s. Under the API's one-day limit
 * on a token's age.
 */
export async function signBenchToken(sub: string, seconds = 12 * 3600): Promise<string> {
  return new SignJWT({ email: `${sub}@example.com` })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setIssuer(AUTH.issuer)
    .setAudience(AUTH.audience)
    .setExpirationTime(`${seconds}s`)
    .sign(new TextEncoder().encode(AUTH.secret));
}

/** Users spread over the seed, each with one of their task ids and a later page's cursor. */
export async function sampleUsers(url: string, users: number, sample: number): Promise<Sampled[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const step = Math.max(1, Math.floor(users / sample));
    const subs = Array.from({ length: Math.min(sample, users) }, (_, i) => BENCH_USER(i * step));
    const sampled: Sampled[] = [];
    for (const sub of subs) {
      sampled.push(
        await (async () => {
          const page = await client.query<{ id: string; created_at: Date }>(
            `SELECT id, created_at FROM tasks WHERE user_id = $1
           ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 99`,
            [sub],
          );
          const any = await client.query<{ id: string }>(
            `SELECT id FROM tasks WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1 OFFSET 5`,
            [sub],
          );
          const last = page.rows[0];
          return {
            sub,
            token: await signBenchToken(sub),
            taskId: any.rows[0]?.id ?? "00000000-0000-7000-8000-000000000000",
            cursor: last ? encodeCursor(last.created_at, last.id) : null,
          };
        })(),
      );
    }
    return sampled;
  } finally {
    await client.end();
  }
}

export function scenarios(users: Sampled[]): Scenario[] {
  let turn = 0;
  const pick = () => users[turn++ % users.length] as Sampled;
  const auth = (user: Sampled) => ({ authorization: `Bearer ${user.token}` });
  const post = (user: Sampled, path: string, value: unknown): Request => ({
    method: "POST",
    path,
    headers: { ...auth(user), "content-type": "application/json" },
    body: JSON.stringify({ json: value }),
  });
  let flip = false;
  return [
    {
      name: "task.list (first page)",
      next: () => {
        const user = pick();
        return {
          method: "GET",
          path: `/trpc/task.list?input=${input({ limit: 20 })}`,
          headers: auth(user),
        };
      },
    },
    {
      name: "REST GET /api/tasks (first page)",
      next: () => ({ method: "GET", path: "/api/tasks?limit=20", headers: auth(pick()) }),
    },
    {
      name: "task.list (page 6, by cursor)",
      next: () => {
        const user = pick();
        const value = user.cursor ? { limit: 20, cursor: user.cursor } : { limit: 20 };
        return {
          method: "GET",
          path: `/trpc/task.list?input=${input(value)}`,
          headers: auth(user),
        };
      },
    },
    {
      name: "task.byId",
      next: () => {
        const user = pick();
        return {
          method: "GET",
          path: `/trpc/task.byId?input=${input({ id: user.taskId })}`,
          headers: auth(user),
        };
      },
    },
    {
      name: "task.create",
      next: () => post(pick(), "/trpc/task.create", { title: CREATED_TITLE, priority: "HIGH" }),
    },
    {
      name: "task.update",
      next: () => {
        flip = !flip;
        const user = pick();
        return post(user, "/trpc/task.update", { id: user.taskId, completed: flip });
      },
    },
    {
      name: "task.stats",
      next: () => ({ method: "GET", path: "/trpc/task.stats", headers: auth(pick()) }),
    },
  ];
}
