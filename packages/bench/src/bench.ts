/**
 * `pnpm bench`: seeds the database (once), serves the built API and the baseline as processes of
 * their own, puts the same autocannon load on both, procedure by procedure, in alternating A/B
 * rounds, prices each layer in-process, measures live updates (delivery latency, memory per idle
 * stream, the write path with and without emission), and writes BENCHMARKS.md and benchmarks.svg
 * at the repository's root.
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { APP_ROLE, applyMigrations, appRoleUrl, workspaceRoot } from "@tasks/db";
import autocannon from "autocannon";
import pg from "pg";
import { type GrowthPoint, measureLayers, measureList } from "./layers.ts";
import {
  measureDelivery,
  measureIdleMemory,
  type ProbedServer,
  quietTriggers,
  residentBytes,
  STREAMS_PER_USER,
} from "./live.ts";
import { start, stop, waitFor } from "./processes.ts";
import {
  type Comparison,
  type LiveRun,
  liveSection,
  type Measurement,
  writeReport,
} from "./report.ts";
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
    "compare-rls": { type: "boolean", default: false },
    // The API with OpenTelemetry on (traces sampled at 10% and at 100%; metrics; each over OTLP
    // to a sink on loopback) against the same build with it off (the default), after a control
    // of two processes of that build.
    "compare-tracing": { type: "boolean", default: false },
    // Each comparison is its own phase: procedure by procedure, on several fresh pairs of
    // processes in turn, the two servers by turns in short paired rounds.
    "compare-processes": { type: "string", default: "4" },
    "compare-rounds": { type: "string", default: "2" },
    "compare-duration": { type: "string", default: "3" },
    // Live updates, after the rest (`--no-live`: not measured; `--live-only`: only they are,
    // and their section is printed, not written): streams, creates a second, seconds per round
    // of delivery, and rounds of the write path's A/B.
    live: { type: "boolean", default: true },
    "live-only": { type: "boolean", default: false },
    "live-streams": { type: "string", default: "1000" },
    "live-rate": { type: "string", default: "100" },
    "live-seconds": { type: "string", default: "6" },
    "live-rounds": { type: "string", default: "6" },
  },
  allowNegative: true,
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
});
const rounds = Number(flags.rounds);
const duration = Number(flags.duration);
const connections = Number(flags.connections);
const compareProcesses = Number(flags["compare-processes"]);
const compareRounds = Number(flags["compare-rounds"]);
const compareDuration = Number(flags["compare-duration"]);
const size = { users: Number(flags.users), tasks: Number(flags.tasks), growth: true };
const smallSize = { users: 10, tasks: Number(flags["small-tasks"]) };
const liveStreams = Number(flags["live-streams"]);
const root = workspaceRoot();
const apiMain = join(root, "apps/server/dist/main.js");
const POOL_MAX = 10;
/** The API servers' environment. */
const env = {
  // As the app's role, which the row-level security policies bind.
  DATABASE_URL: appRoleUrl(flags.url),
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

/** Where the traced servers export (OTLP/HTTP): takes every request, answers 200, keeps nothing. */
async function startOtlpSink() {
  const received = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      received.bytes += chunk.byteLength;
    });
    req.on("end", () => {
      received.requests++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((listening) => server.listen(31_010, "127.0.0.1", listening));
  return {
    url: "http://127.0.0.1:31010",
    received,
    close: () => new Promise((closed) => server.close(closed)),
  };
}

/** The version of a Node binary, e.g. `v20.20.2`. */
function nodeVersion(node: string): string {
  return execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
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
  if (flags["live-only"]) {
    process.stdout.write(liveSection(await measureLiveUpdates()));
    return;
  }
  await ensureDatabase(flags.url);
  const seeded = await seed(flags.url, size, progressBar("Seeding tasks"));
  console.error(
    seeded.reused
      ? "Seed reused."
      : `Seeded ${size.users} users and ${size.tasks} tasks in ${(seeded.ms / 1000).toFixed(1)} s.`,
  );
  const users = await sampleUsers(flags.url, size.users, 100);
  const list = scenarios(users);

  const baselineArgs = ["--import", "tsx", join(root, "packages/bench/src/serve-baseline.ts")];
  const servers: Record<
    string,
    { port: number; node: string; args: string[]; env?: Record<string, string> }
  > = {
    api: { port: 31_001, node: process.execPath, args: [apiMain] },
    // The hand-written floor reads as the owner: it sends no user setting.
    baseline: {
      port: 31_002,
      node: process.execPath,
      args: baselineArgs,
      env: { DATABASE_URL: flags.url },
    },
  };
  const comparisons: Comparison[] = [];
  const thisNode = `Node ${process.version}`;
  if (flags["compare-node"]) {
    const node = flags["compare-node"];
    const other = `Node ${nodeVersion(node)}`;
    servers["api, other node"] = { port: 31_003, node, args: [apiMain] };
    servers["baseline, other node"] = {
      port: 31_004,
      node,
      args: baselineArgs,
      env: { DATABASE_URL: flags.url },
    };
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
  if (flags["compare-rls"]) {
    servers["api, rls off"] = {
      port: 31_007,
      node: process.execPath,
      args: [apiMain],
      // The scoped client alone: no setting sent, as the owner, whom the policies do not bind.
      env: { ROW_LEVEL_SECURITY: "off", DATABASE_URL: flags.url },
    };
    comparisons.push({
      title: "The API with row-level security on against off",
      a: ["api", "API, row-level security on"],
      b: ["api, rls off", "API, row-level security off"],
    });
  }
  const sink = flags["compare-tracing"] ? await startOtlpSink() : undefined;
  if (sink) {
    // The control: two processes of one build, compared the same way, show how far the method
    // strays where there is nothing to find (one process can run a few percent off another).
    servers["api, again"] = { port: 31_015, node: process.execPath, args: [apiMain] };
    comparisons.push({
      title: "The API against a second process of the same build (the control)",
      a: ["api, again", "API, second process"],
      b: ["api", "API"],
    });
    // Each signal on its own, as an operator turns them on: traces (at 10% and at 100%, metrics
    // off), then metrics (traces off).
    for (const [percent, port] of [
      [10, 31_008],
      [100, 31_009],
    ] as const) {
      const name = `api, traced ${percent}%`;
      servers[name] = {
        port,
        node: process.execPath,
        args: [apiMain],
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
          OTEL_METRICS_EXPORTER: "none",
          OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
          OTEL_TRACES_SAMPLER_ARG: String(percent / 100),
        },
      };
      comparisons.push({
        title: `The API traced at ${percent}% (metrics off) against telemetry off`,
        a: [name, `API, traced at ${percent}%`],
        b: ["api", "API, telemetry off"],
      });
    }
    servers["api, metrics"] = {
      port: 31_016,
      node: process.execPath,
      args: [apiMain],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_EXPORTER: "none" },
    };
    comparisons.push({
      title: "The API with its metrics on (traces off) against telemetry off",
      a: ["api, metrics", "API, metrics on"],
      b: ["api", "API, telemetry off"],
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
  const spawnServer = (name: string) => {
    const { port, node, args, env: own } = servers[name] as (typeof servers)[string];
    return start(node, args, { ...env, ...own, PORT: String(port) }, join(root, "packages/bench"));
  };
  const children = new Map(Object.keys(servers).map((name) => [name, spawnServer(name)]));
  /** Stops a server's process and starts a fresh one in its place. */
  const restart = async (name: string) => {
    const old = children.get(name);
    if (old) await stop(old);
    children.set(name, spawnServer(name));
    await waitFor(`http://127.0.0.1:${servers[name]?.port}/health`);
  };
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
        // Fresh processes, several pairs for each procedure: one process can run several percent
        // faster or slower than another of the same build for its whole life (the control shows
        // it), so the figure over all procedures averages over many pairs of processes.
        for (let pair = 0; pair < compareProcesses; pair++) {
          await restart(a[0]);
          await restart(b[0]);
          // Untimed first: a fresh process is not yet warm (JIT, heap, pool, the users it knows).
          for (const server of [a[0], b[0]]) {
            await load(`http://127.0.0.1:${servers[server]?.port}`, scenario, compareDuration);
          }
          for (let round = 0; round < compareRounds; round++) {
            const first = (pair + round) % 2 === 0 ? [a[0], b[0]] : [b[0], a[0]];
            for (const server of first) {
              const base = `http://127.0.0.1:${servers[server]?.port}`;
              const result = await load(base, scenario, compareDuration);
              paired.push({
                procedure: scenario.name,
                server,
                round,
                pair,
                comparison: title,
                ...result,
              });
              console.error(
                `${title}, processes ${pair + 1}/${compareProcesses} round ${round + 1}/${compareRounds} ${scenario.name} ${server}: ${result.rps.toFixed(0)} req/s`,
              );
            }
          }
        }
      }
    }
    for (const child of children.values()) child.kill("SIGTERM");
    if (sink) {
      // A traced server that exported nothing would make its comparison meaningless.
      await new Promise((done) => setTimeout(done, 1_000));
      console.error(`OTLP sink: ${sink.received.requests} exports, ${sink.received.bytes} bytes`);
      if (sink.received.bytes === 0) throw new Error("the traced servers exported nothing");
      await sink.close();
    }
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
    const live = flags.live ? await measureLiveUpdates() : undefined;
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
      compareProcesses,
      layers,
      growth,
      tableSize,
      explain: await explain(flags.url, sub),
      live,
    });
    console.error("Wrote BENCHMARKS.md and benchmarks.svg.");
  } finally {
    for (const child of children.values()) child.kill("SIGTERM");
  }
}

/** Drops the database if it exists, makes it again and migrates it. */
async function freshDatabase(url: string) {
  const name = new URL(url).pathname.slice(1).replaceAll('"', '""');
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  await applyMigrations(url);
}

const withSuffix = (url: string, suffix: string) => {
  const named = new URL(url);
  named.pathname = `${named.pathname}${suffix}`;
  return named.toString();
};

/**
 * Live updates, on two databases made afresh and seeded alike: `<database>_live` as migrated, and
 * `<database>_live_quiet` with the triggers that emit nothing. First the write path, with emission
 * against without (one API process on each, by turns); then the delivery latency, with two API
 * processes on `_live` and every user's streams open over both; then the memory of idle streams,
 * on a fresh process per round.
 */
async function measureLiveUpdates(): Promise<LiveRun> {
  const users = Math.ceil(liveStreams / STREAMS_PER_USER);
  const liveSize = { users, tasks: users * 1000 };
  const liveUrl = withSuffix(flags.url, "_live");
  const quietUrl = withSuffix(flags.url, "_live_quiet");
  for (const url of [liveUrl, quietUrl]) {
    await freshDatabase(url);
    await seed(url, liveSize);
  }
  await quietTriggers(quietUrl);
  const sampled = {
    with: await sampleUsers(liveUrl, users, users),
    without: await sampleUsers(quietUrl, users, users),
  };
  const cwd = join(root, "packages/bench");
  const serve = (port: number, url: string) =>
    start(
      process.execPath,
      [apiMain],
      { ...env, DATABASE_URL: appRoleUrl(url), PORT: String(port) },
      cwd,
    );
  const base = (port: number) => `http://127.0.0.1:${port}`;
  const liveRounds = Number(flags["live-rounds"]);

  // The write path: the same build on either database, no stream open.
  const writePath: Measurement[] = [];
  const ports = { with: 31_011, without: 31_013 };
  const pair = [serve(ports.with, liveUrl), serve(ports.without, quietUrl)];
  try {
    for (const port of Object.values(ports)) await waitFor(`${base(port)}/health`);
    const writes = (side: "with" | "without") =>
      scenarios(sampled[side]).filter((s) => s.name === "task.create" || s.name === "task.update");
    const loads = { with: writes("with"), without: writes("without") };
    for (const side of ["with", "without"] as const) {
      for (const scenario of loads[side]) await load(base(ports[side]), scenario, 1);
    }
    for (let index = 0; index < loads.with.length; index++) {
      for (let round = 0; round < liveRounds; round++) {
        for (const side of round % 2 === 0
          ? (["with", "without"] as const)
          : (["without", "with"] as const)) {
          const scenario = loads[side][index] as Scenario;
          const result = await load(base(ports[side]), scenario, compareDuration);
          writePath.push({ procedure: scenario.name, server: side, round, ...result });
          console.error(
            `write path, round ${round + 1}/${liveRounds} ${scenario.name} ${side} emission: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, errors ${result.errors}`,
          );
        }
      }
    }
  } finally {
    await Promise.all(pair.map(stop));
  }

  // Delivery: two processes on one database, every user's streams over both.
  const rate = Number(flags["live-rate"]);
  const seconds = Number(flags["live-seconds"]);
  const instances = [31_011, 31_012];
  const both = instances.map((port) => serve(port, liveUrl));
  let delivery: LiveRun["delivery"];
  try {
    for (const port of instances) await waitFor(`${base(port)}/health`);
    delivery = await measureDelivery({
      bases: instances.map(base),
      users: sampled.with,
      listenUrl: liveUrl,
      streamsPerUser: STREAMS_PER_USER,
      rate,
      seconds,
      rounds,
      warmupSeconds: 2,
      log: (line) => console.error(line),
    });
  } finally {
    await Promise.all(both.map(stop));
  }

  // Memory: a fresh process per round, with the probe.
  const probe = join(root, "packages/bench/src/memory-probe.ts");
  const memory = await measureIdleMemory({
    users: sampled.with,
    streams: liveStreams,
    streamsPerUser: STREAMS_PER_USER,
    rounds,
    log: (line) => console.error(line),
    async serve(): Promise<ProbedServer> {
      const port = 31_014;
      const child = start(
        process.execPath,
        ["--expose-gc", "--import", probe, apiMain],
        { ...env, DATABASE_URL: appRoleUrl(liveUrl), PORT: String(port) },
        cwd,
        true,
      );
      await waitFor(`${base(port)}/health`);
      return {
        base: base(port),
        async memory() {
          const usage = await new Promise<NodeJS.MemoryUsage>((done) => {
            child.once("message", (message) => done(message as NodeJS.MemoryUsage));
            child.send("memory");
          });
          return { heapBytes: usage.heapUsed, rssBytes: await residentBytes(child.pid as number) };
        },
        stop: () => stop(child),
      };
    },
  });
  return {
    database: new URL(liveUrl).pathname.slice(1),
    quietDatabase: new URL(quietUrl).pathname.slice(1),
    seed: liveSize,
    streams: liveStreams,
    users,
    streamsPerUser: STREAMS_PER_USER,
    processes: instances.length,
    rate,
    seconds,
    rounds,
    delivery,
    memory,
    writePath,
    writeRounds: liveRounds,
    writeDuration: compareDuration,
    connections,
  };
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

/**
 * The plans of the list and stats queries on the seeded table, as the API runs them: as the app's
 * role, under the row-level security policies, with the user's setting.
 */
async function explain(url: string, sub: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const plan = async (sql: string, user = sub) => {
      await client.query("BEGIN");
      try {
        await client.query(`SET LOCAL ROLE ${APP_ROLE}`);
        await client.query("SELECT set_config('app.user_id', $1, true)", [user]);
        const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [user]);
        return rows.map((row) => row["QUERY PLAN"]).join("\n");
      } finally {
        await client.query("ROLLBACK");
      }
    };
    return {
      "task.list (first page)": await plan(
        `SELECT id, title, description, completed, priority, due_at, created_at, updated_at FROM tasks
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21`,
      ),
      "task.stats": await plan(
        `SELECT completed, COUNT(*) FROM tasks WHERE user_id = $1 GROUP BY completed`,
      ),
      "task.stats, for the user with 100,000 tasks": await plan(
        `SELECT completed, COUNT(*) FROM tasks WHERE user_id = $1 GROUP BY completed`,
        "growth-100000",
      ),
    };
  } finally {
    await client.end();
  }
}

await main();
