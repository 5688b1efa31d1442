/**
 * `pnpm bench`: seeds the database (once), serves the built API and the baseline as processes of
 * their own, puts the same autocannon load on both, procedure by procedure, in alternating A/B
 * rounds, and writes BENCHMARKS.md and benchmarks.svg at the repository's root.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { applyMigrations, workspaceRoot } from "@tasks/db";
import autocannon from "autocannon";
import pg from "pg";
import { type GrowthPoint, measureLayers, measureList } from "./layers.ts";
import { type Comparison, type Measurement, writeReport } from "./report.ts";
import { AUTH, type Scenario, sampleUsers, scenarios } from "./scenarios.ts";
import { GROWTH, progressBar, seed } from "./seed.ts";

const { values: flags } = parseArgs({
  options: {
    url: { type: "string", default: "postgres://postgres@127.0.0.1:5432/tasks_bench" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    users: { type: "string", default: "1000" },
    tasks: { type: "string", default: "1000000" },
    "small-tasks": { type: "string", default: "10000" },
    // Another Node binary: the API and the baseline also run on it, in the same rounds.
    "compare-node": { type: "string" },
    // Another build of the API server (its main.js) and a name for it, in the same rounds.
    "compare-api": { type: "string" },
    "compare-api-label": { type: "string", default: "the other build" },
    // The API with its rate limits on (as always measured) against the same build with them off.
    "compare-limits": { type: "boolean", default: false },
    // Each comparison is its own phase: the two servers by turns, in short paired rounds.
    "compare-rounds": { type: "string", default: "8" },
    "compare-duration": { type: "string", default: "3" },
  },
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
});
const rounds = Number(flags.rounds);
const duration = Number(flags.duration);
const connections = Number(flags.connections);
const compareRounds = Number(flags["compare-rounds"]);
const compareDuration = Number(flags["compare-duration"]);
const size = { users: Number(flags.users), tasks: Number(flags.tasks), growth: true };
const smallSize = { users: 10, tasks: Number(flags["small-tasks"]) };
const root = workspaceRoot();
const POOL_MAX = 10;

async function ensureDatabase(url: string) {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
    if (exists.rowCount === 0)
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
  await applyMigrations(url);
}

function start(
  node: string,
  command: string[],
  env: Record<string, string>,
  cwd: string,
): ChildProcess {
  const child = spawn(node, command, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return child;
}

/** The version of a Node binary, e.g. `v20.20.2`. */
function nodeVersion(node: string): string {
  return execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
}

async function waitFor(url: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  throw new Error(`${url} did not answer`);
}

async function load(base: string, scenario: Scenario, seconds = duration) {
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        setupRequest: (request) => ({ ...request, ...scenario.next() }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function main() {
  console.error(`Database ${new URL(flags.url).host}${new URL(flags.url).pathname}`);
  await ensureDatabase(flags.url);
  const seeded = await seed(flags.url, size, progressBar("Seeding tasks"));
  console.error(
    seeded.reused
      ? "Seed reused."
      : `Seeded ${size.users} users and ${size.tasks} tasks in ${(seeded.ms / 1000).toFixed(1)} s.`,
  );
  const users = await sampleUsers(flags.url, size.users, 100);
  const list = scenarios(users);

  const env = {
    DATABASE_URL: flags.url,
    DATABASE_POOL_MAX: String(POOL_MAX),
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    HOST: "127.0.0.1",
    AUTH_JWT_SECRET: AUTH.secret,
    AUTH_ISSUER: AUTH.issuer,
    AUTH_AUDIENCE: AUTH.audience,
    // On, as in production, so their cost is in the numbers; set above the load (its calls are
    // spread over 100 users, each far under a million a minute), so nothing is refused.
    RATE_LIMIT_USER_PER_MINUTE: "1000000",
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000000",
  };
  const apiMain = join(root, "apps/server/dist/main.js");
  const baselineArgs = ["--import", "tsx", join(root, "packages/bench/src/serve-baseline.ts")];
  const servers: Record<
    string,
    { port: number; node: string; args: string[]; env?: Record<string, string> }
  > = {
    api: { port: 31_001, node: process.execPath, args: [apiMain] },
    baseline: { port: 31_002, node: process.execPath, args: baselineArgs },
  };
  const comparisons: Comparison[] = [];
  const thisNode = `Node ${process.version}`;
  if (flags["compare-node"]) {
    const node = flags["compare-node"];
    const other = `Node ${nodeVersion(node)}`;
    servers["api, other node"] = { port: 31_003, node, args: [apiMain] };
    servers["baseline, other node"] = { port: 31_004, node, args: baselineArgs };
    comparisons.push(
      {
        title: `The API on ${thisNode} against ${other}`,
        a: ["api", `API, ${thisNode}`],
        b: ["api, other node", `API, ${other}`],
      },
      {
        title: `The baseline on ${thisNode} against ${other}`,
        a: ["baseline", `baseline, ${thisNode}`],
        b: ["baseline, other node", `baseline, ${other}`],
      },
    );
  }
  if (flags["compare-api"]) {
    const label = flags["compare-api-label"] as string;
    servers["api, other build"] = {
      port: 31_005,
      node: process.execPath,
      args: [flags["compare-api"]],
    };
    comparisons.push({
      title: `This build of the API against ${label}`,
      a: ["api", "API, this build"],
      b: ["api, other build", `API, ${label}`],
    });
  }
  if (flags["compare-limits"]) {
    servers["api, limits off"] = {
      port: 31_006,
      node: process.execPath,
      args: [apiMain],
      env: { RATE_LIMIT_USER_PER_MINUTE: "0", RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0" },
    };
    comparisons.push({
      title: "The API with its rate limits on against off",
      a: ["api", "API, rate limits on"],
      b: ["api, limits off", "API, rate limits off"],
    });
  }
  // The main rounds take the API and the baseline; the other servers wait for their comparison.
  const names = ["api", "baseline"];
  const children = Object.values(servers).map(({ port, node, args, env: own }) =>
    start(node, args, { ...env, ...own, PORT: String(port) }, join(root, "packages/bench")),
  );
  try {
    for (const { port } of Object.values(servers)) await waitFor(`http://127.0.0.1:${port}/health`);
    // Warm-up: every sampled user exists and each server has run each procedure.
    for (const { port } of Object.values(servers)) {
      for (const scenario of list) {
        for (let i = 0; i < users.length; i++) {
          const request = scenario.next();
          const response = await fetch(`http://127.0.0.1:${port}${request.path}`, request);
          if (response.status !== 200)
            throw new Error(
              `${scenario.name} answered ${response.status}: ${await response.text()}`,
            );
        }
      }
    }
    const measurements: Measurement[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const scenario of list) {
        // Each round starts with the next server, so that none is always first.
        const order = names.map((_, i) => names[(i + round) % names.length] as string);
        for (const server of order) {
          const result = await load(`http://127.0.0.1:${servers[server]?.port}`, scenario);
          measurements.push({ procedure: scenario.name, server, round, ...result });
          console.error(
            `round ${round + 1}/${rounds} ${scenario.name} ${server}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}`,
          );
        }
      }
    }
    // A comparison alternates its two servers only, round after round, and takes the ratio of
    // each round's pair: the machine's drift then weighs on both sides of every ratio alike.
    const paired: Measurement[] = [];
    for (const { title, a, b } of comparisons) {
      for (const scenario of list) {
        for (let round = 0; round < compareRounds; round++) {
          for (const server of round % 2 === 0 ? [a[0], b[0]] : [b[0], a[0]]) {
            const base = `http://127.0.0.1:${servers[server]?.port}`;
            const result = await load(base, scenario, compareDuration);
            paired.push({ procedure: scenario.name, server, round, ...result });
            console.error(
              `${title}, round ${round + 1}/${compareRounds} ${scenario.name} ${server}: ${result.rps.toFixed(0)} req/s`,
            );
          }
        }
      }
    }
    for (const child of children) child.kill("SIGTERM");
    console.error("Measuring each layer in-process…");
    const sub = users[0]?.sub as string;
    const layers = await measureLayers(flags.url, sub);
    const growth: GrowthPoint[] = [];
    for (const count of GROWTH) {
      const point = await measureList(flags.url, `growth-${count}`);
      growth.push({
        ...point,
        label: `a user with ${count.toLocaleString("en")} tasks, table of the ${size.tasks.toLocaleString("en")}-task seed`,
      });
    }
    const smallUrl = new URL(flags.url);
    smallUrl.pathname = `${smallUrl.pathname}_small`;
    await ensureDatabase(smallUrl.toString());
    await seed(smallUrl.toString(), smallSize, progressBar("Seeding the small table"));
    const perUser = Math.floor(smallSize.tasks / smallSize.users);
    const tableSize = [
      {
        ...(await measureList(smallUrl.toString(), "bench-0")),
        label: `a user with ${perUser.toLocaleString("en")} tasks, table of ${smallSize.tasks.toLocaleString("en")} tasks`,
      },
      {
        ...(await measureList(flags.url, sub)),
        label: `a user with ${Math.floor(size.tasks / size.users).toLocaleString("en")} tasks, table of the ${size.tasks.toLocaleString("en")}-task seed`,
      },
    ];
    const command = `pnpm bench ${process.argv
      .slice(2)
      .filter((arg) => arg !== "--")
      .join(" ")}`.trim();
    await writeReport(root, {
      command,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`,
      database: await serverVersion(flags.url),
      size,
      seedSeconds: seeded.reused ? null : seeded.ms / 1000,
      rounds,
      duration,
      connections,
      poolMax: POOL_MAX,
      measurements,
      comparisons,
      paired,
      compareRounds,
      compareDuration,
      layers,
      growth,
      tableSize,
      explain: await explain(flags.url, sub),
    });
    console.error("Wrote BENCHMARKS.md and benchmarks.svg.");
  } finally {
    for (const child of children) child.kill("SIGTERM");
  }
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(`SHOW server_version`)).rows[0].server_version;
  } finally {
    await client.end();
  }
}

/** The plans of the list and stats queries on the seeded table. */
async function explain(url: string, sub: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const plan = async (sql: string) =>
      (await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [sub])).rows
        .map((row) => row["QUERY PLAN"])
        .join("\n");
    return {
      "task.list (first page)": await plan(
        `SELECT id, title, description, completed, priority, due_at, created_at, updated_at FROM tasks
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21`,
      ),
      "task.stats": await plan(
        `SELECT completed, COUNT(*) FROM tasks WHERE user_id = $1 GROUP BY completed`,
      ),
      "task.stats, for the user with 100,000 tasks": (
        await client.query(
          `EXPLAIN (ANALYZE, BUFFERS) SELECT completed, COUNT(*) FROM tasks WHERE user_id = 'growth-100000' GROUP BY completed`,
        )
      ).rows
        .map((row) => row["QUERY PLAN"])
        .join("\n"),
    };
  } finally {
    await client.end();
  }
}

await main();
