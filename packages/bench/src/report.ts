/** Writes BENCHMARKS.md and benchmarks.svg from one run's measurements: no number is typed by hand. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GrowthPoint, LayerCost } from "./layers.ts";
import type { DeliveryRound, MemoryRound, MemorySample, Percentiles } from "./live.ts";

export interface Measurement {
  procedure: string;
  /** `api`, `baseline`, or a server of a comparison. */
  server: string;
  /** The comparison (its title) whose rounds these are; none for the main rounds. */
  comparison?: string;
  round: number;
  /** In a comparison, which of the procedure's fresh pairs of processes ran the round. */
  pair?: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Two servers measured in the same rounds: [the server's key, its label in the report]. */
export interface Comparison {
  title: string;
  a: [string, string];
  b: [string, string];
}

export interface Run {
  command: string;
  machine: string;
  database: string;
  size: { users: number; tasks: number };
  seedSeconds: number | null;
  rounds: number;
  duration: number;
  connections: number;
  poolMax: number;
  measurements: Measurement[];
  comparisons: Comparison[];
  /** The comparisons' own rounds. */
  paired: Measurement[];
  compareRounds: number;
  compareDuration: number;
  /** Fresh pairs of processes per procedure in each comparison. */
  compareProcesses: number;
  layers: LayerCost[];
  growth: GrowthPoint[];
  tableSize: GrowthPoint[];
  explain: Record<string, string>;
  /** Live updates (absent with `--no-live`). */
  live?: LiveRun;
}

/** The live updates' measures (see `live.ts`). */
export interface LiveRun {
  /** The database with the triggers as migrated, and the one whose triggers emit nothing. */
  database: string;
  quietDatabase: string;
  seed: { users: number; tasks: number };
  streams: number;
  users: number;
  streamsPerUser: number;
  processes: number;
  /** Creates a second during delivery, and seconds per round. */
  rate: number;
  seconds: number;
  rounds: number;
  delivery: DeliveryRound[];
  memory: MemoryRound[];
  /** The write path's A/B: `server` is `with` or `without` (emission). */
  writePath: Measurement[];
  writeRounds: number;
  writeDuration: number;
  connections: number;
}

export interface Summary {
  procedure: string;
  api: { rps: number; p50: number; p99: number; errors: number };
  baseline: { rps: number; p50: number; p99: number; errors: number };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** One server's medians over the rounds of one procedure, and its errors summed. */
function medians(measurements: Measurement[], procedure: string, server: string) {
  const rows = measurements.filter((m) => m.procedure === procedure && m.server === server);
  return {
    rps: median(rows.map((m) => m.rps)),
    p50: median(rows.map((m) => m.p50)),
    p99: median(rows.map((m) => m.p99)),
    errors: rows.reduce((sum, m) => sum + m.errors, 0),
  };
}

const proceduresOf = (measurements: Measurement[]) => [
  ...new Set(measurements.map((m) => m.procedure)),
];

export function summarize(measurements: Measurement[]): Summary[] {
  return proceduresOf(measurements).map((procedure) => ({
    procedure,
    api: medians(measurements, procedure, "api"),
    baseline: medians(measurements, procedure, "baseline"),
  }));
}

/** The throughput ratios of a comparison's pairs for one procedure, with the rounds' pair. */
function roundRatios(measurements: Measurement[], procedure: string, a: string, b: string) {
  const rounds = (server: string) =>
    measurements.filter((m) => m.procedure === procedure && m.server === server);
  const others = rounds(b);
  return rounds(a).flatMap((m) => {
    const other = others.find((o) => o.round === m.round && o.pair === m.pair);
    return other && other.rps > 0 ? [{ pair: m.pair ?? 0, ratio: m.rps / other.rps }] : [];
  });
}

/** The throughput ratios of a comparison's pairs for one procedure, round by round. */
function pairRatios(measurements: Measurement[], procedure: string, a: string, b: string) {
  return roundRatios(measurements, procedure, a, b).map((r) => r.ratio);
}

export interface Estimate {
  /** Geometric mean of the pairs of processes' ratios. */
  ratio: number;
  /** Its 95% confidence interval. */
  low: number;
  high: number;
  /** Pairs of processes it rests on. */
  pairs: number;
}

/**
 * A comparison's ratio over every procedure: one ratio per pair of processes (the geometric mean
 * of its rounds), then their geometric mean and its 95% interval (Student's t). The pair of
 * processes is the unit, not the round: one process can run several percent off another of the
 * same build for its whole life, so rounds on the same pair are not independent of each other.
 */
export function estimate(measurements: Measurement[], a: string, b: string): Estimate | undefined {
  const logs = proceduresOf(measurements).flatMap((procedure) => {
    const byPair = new Map<number, number[]>();
    for (const { pair, ratio } of roundRatios(measurements, procedure, a, b)) {
      byPair.set(pair, [...(byPair.get(pair) ?? []), Math.log(ratio)]);
    }
    return [...byPair.values()].map(mean);
  });
  if (logs.length === 0) return undefined;
  const centre = mean(logs);
  const n = logs.length;
  const sd = n > 1 ? Math.sqrt(logs.reduce((sum, x) => sum + (x - centre) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? studentT95(n - 1) * (sd / Math.sqrt(n)) : Number.POSITIVE_INFINITY;
  return {
    ratio: Math.exp(centre),
    low: Math.exp(centre - half),
    high: Math.exp(centre + half),
    pairs: n,
  };
}

const mean = (values: number[]) => values.reduce((sum, x) => sum + x, 0) / values.length;

/** The two-sided 95% quantile of Student's t: a table to 10 degrees of freedom, then
 * Cornish–Fisher's series (within 0.003 of the table's values from there on). */
function studentT95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
  if (df <= table.length) return table[df - 1] as number;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

const showEstimate = (e: Estimate) =>
  e.pairs < 2
    ? `${e.ratio.toFixed(3)}×`
    : `${e.ratio.toFixed(3)}× (95%: ${e.low.toFixed(3)}–${e.high.toFixed(3)})`;

const spread = (ratios: number[]) =>
  ratios.length === 0 ? "–" : `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;

/**
 * A comparison's table: each procedure's medians on both servers, and the median and range of
 * the ratios of each round's pair (the servers alternate, so each ratio is of neighbours in time);
 * last, every procedure together (`estimate`, or the median of the rounds when all ran on one pair
 * of processes).
 */
export function comparisonTable(measurements: Measurement[], { a, b }: Comparison): string {
  const rows = proceduresOf(measurements).map((procedure) => {
    const [x, y] = [medians(measurements, procedure, a[0]), medians(measurements, procedure, b[0])];
    const ratios = pairRatios(measurements, procedure, a[0], b[0]);
    return `| \`${procedure}\` | ${x.rps.toFixed(0)} | ${y.rps.toFixed(0)} | ${ratios.length ? `${median(ratios).toFixed(2)}×` : "–"} | ${spread(ratios)} | ${x.p99} / ${y.p99} | ${x.errors} / ${y.errors} |`;
  });
  const pooled = proceduresOf(measurements).flatMap((procedure) =>
    pairRatios(measurements, procedure, a[0], b[0]),
  );
  const overall = estimate(measurements, a[0], b[0]);
  return [
    `| procedure | ${a[1]} req/s | ${b[1]} req/s | ratio, median of rounds | ratios' range | p99 ms | errors |`,
    "| --- | --: | --: | --: | --: | --: | --: |",
    ...rows,
    // Rounds from fresh pairs of processes (a comparison's): one ratio per pair of processes, and
    // its interval; rounds all on one pair (the live write path's): the median of the rounds.
    measurements.some((m) => m.pair !== undefined)
      ? `| all procedures: ${overall?.pairs ?? 0} pairs of processes, ${pooled.length} rounds | | | ${overall ? showEstimate(overall) : "–"} | ${spread(pooled)} | | |`
      : `| all procedures' rounds (${pooled.length}) | | | ${pooled.length ? `${median(pooled).toFixed(3)}×` : "–"} | ${spread(pooled)} | | |`,
  ].join("\n");
}

const ratio = (a: number, b: number) => (b === 0 ? "–" : `${(a / b).toFixed(2)}×`);

/**
 * The rounds of the comparison of `a` with `b`: a server may take part in several, each in a
 * phase of its own, and a ratio pairs rounds of the same phase only.
 */
function phase(run: Run, a: string, b: string): Measurement[] {
  const comparison = run.comparisons.find((c) => c.a[0] === a && c.b[0] === b);
  return run.paired.filter((m) => comparison && m.comparison === comparison.title);
}

/** The targets the API is tuned toward, each checked against this run. */
export function targets(run: Run, summary: Summary[]): [string, string, boolean][] {
  const of = (name: string) => summary.find((row) => row.procedure === name);
  const list = of("task.list (first page)");
  const create = of("task.create");
  const scoped = run.layers.find((cost) => cost.layer === "scoped client (forUser)");
  const [small, large] = run.tableSize;
  // Row-level security on against off, from its comparison's pairs (when it ran).
  const rls = (procedure: string) => {
    const ratios = pairRatios(phase(run, "api", "api, rls off"), procedure, "api", "api, rls off");
    return ratios.length ? median(ratios) : undefined;
  };
  // Tracing on (sampled at 10%, metrics off) against telemetry off: every procedure's pairs of
  // processes together, since one pair strays by several percent even between two processes of
  // one build (the control comparison).
  const traced = estimate(phase(run, "api, traced 10%", "api"), "api, traced 10%", "api");
  const checks: [
    string,
    number | undefined,
    (value: number) => boolean,
    (value: number) => string,
  ][] = [
    [
      "`task.list` throughput ≥ 0.60× the baseline's",
      list && list.api.rps / list.baseline.rps,
      (v) => v >= 0.6,
      (v) => `${v.toFixed(2)}×`,
    ],
    [
      "`task.create` throughput ≥ 0.50× the baseline's",
      create && create.api.rps / create.baseline.rps,
      (v) => v >= 0.5,
      (v) => `${v.toFixed(2)}×`,
    ],
    [
      `\`task.list\` p99 under 25 ms at ${run.connections} connections`,
      list?.api.p99,
      (v) => v < 25,
      (v) => `${v} ms`,
    ],
    [
      "scoped client overhead ≤ 5%",
      scoped && scoped.withUs / scoped.withoutUs - 1,
      (v) => v <= 0.05,
      (v) => `${(v * 100).toFixed(1)}%`,
    ],
    [
      "`task.list` throughput with row-level security on ≥ 0.85× of off",
      rls("task.list (first page)"),
      (v) => v >= 0.85,
      (v) => `${v.toFixed(2)}×`,
    ],
    [
      "`task.create` throughput with row-level security on ≥ 0.85× of off",
      rls("task.create"),
      (v) => v >= 0.85,
      (v) => `${v.toFixed(2)}×`,
    ],
    [
      "API throughput traced at 10% (metrics off) ≥ 0.95× of telemetry off (all procedures)",
      traced?.ratio,
      (v) => v >= 0.95,
      () => showEstimate(traced as Estimate),
    ],
    [
      "list latency at the large table within 1.5× of the small one",
      small && large && large.medianUs / small.medianUs,
      (v) => v <= 1.5,
      (v) => `${v.toFixed(2)}×`,
    ],
  ];
  return checks.map(([target, value, met, show]) =>
    value === undefined || Number.isNaN(value)
      ? [target, "not measured", false]
      : [target, show(value), met(value)],
  );
}

export function markdown(run: Run, summary: Summary[]): string {
  const rows = summary.map(
    ({ procedure, api, baseline }) =>
      `| \`${procedure}\` | ${api.rps.toFixed(0)} | ${baseline.rps.toFixed(0)} | ${ratio(api.rps, baseline.rps)} | ${api.p50} / ${api.p99} | ${baseline.p50} / ${baseline.p99} | ${ratio(api.p99, baseline.p99)} | ${api.errors} / ${baseline.errors} |`,
  );
  return `# Benchmarks

Generated by \`pnpm bench\` (\`packages/bench\`); do not edit by hand. The API is the built server
(\`apps/server/dist/main.js\`); the baseline is \`packages/bench/src/baseline.ts\`, the same procedures
by hand on \`node:http\` and \`pg\` (same URLs, superjson envelope, token check and SQL). Each ran as
a process of its own with a pool of ${run.poolMax} connections, under the same
[autocannon](https://github.com/mcollina/autocannon) load, on loopback.

- Command: \`${run.command}\`
- Machine: ${run.machine}; PostgreSQL ${run.database}. The machine is shared: compare the ratios
  within this run, not the absolute numbers across runs.
- Data: ${run.size.users.toLocaleString("en")} users and ${run.size.tasks.toLocaleString("en")} tasks, plus three users with 10, 1,000 and
  100,000 tasks for the growth table${run.seedSeconds === null ? " (seed reused from an earlier run)" : `, seeded in ${run.seedSeconds.toFixed(1)} s`}.
- Load: ${run.connections} connections, ${run.duration} s per procedure and server, ${run.rounds} rounds, the
  servers taking turns to go first from round to round; requests cycle over 100 of the seeded users.
- Each figure is the median of the rounds; errors are the sum (errors, timeouts and non-2xx).

![Throughput and p99 latency per procedure, API against baseline](benchmarks.svg)

| procedure | API req/s | baseline req/s | API / baseline req/s | API p50 / p99 ms | baseline p50 / p99 ms | API / baseline p99 | errors API / baseline |
| --- | --: | --: | --: | --: | --: | --: | --: |
${rows.join("\n")}

\`task.list (page 6, by cursor)\` asks for the page after each user's 100 newest tasks;
\`REST GET /api/tasks (first page)\` is \`task.list\`'s first page through the REST face (plain JSON).

What differs by design: the API logs one line per request (\`LOG_LEVEL=info\`, to a discarded
stdout) and the baseline none; the baseline checks every token's signature, where the API remembers
a verified token until its \`exp\`; the baseline writes results with \`superjson.serialize\`, the API
with its own transformer (the same wire format, see below).

${
  run.comparisons.length === 0
    ? ""
    : `## Comparisons, in the same rounds

Each pair below ran after the main rounds, under the same load, procedure by procedure. One
process can run several percent faster or slower than another of the same build for its whole
life, so each procedure ran on ${run.compareProcesses} fresh pairs of processes in turn: on each pair, first
${run.compareDuration} s of the procedure on each process, untimed, then the two by turns, ${run.compareRounds} rounds of ${run.compareDuration} s, the
first to go alternating. A round's ratio is the first server's throughput over the second's
(neighbours in time); each procedure's row gives the median of its rounds' ratios and their range.
Both columns of p99 are medians, first / second. The last row takes every procedure together, the
cost under the whole mix: one ratio per pair of processes (the geometric mean of its rounds),
then the geometric mean of those and its 95% confidence interval, the pair of processes being the
unit that varies. The control, two processes of one build compared the same way, shows how far
the method strays where there is nothing to find.

${run.comparisons.map((c) => `### ${c.title}\n\n${comparisonTable(phase(run, c.a[0], c.b[0]), c)}`).join("\n\n")}

`
}${run.live ? liveSection(run.live) : ""}## Targets

| target | this run | met |
| --- | --: | :-: |
${targets(run, summary)
  .map(([target, value, met]) => `| ${target} | ${value} | ${met ? "yes" : "no"} |`)
  .join("\n")}

## Each layer's cost

Measured in one process (one database connection each, one call at a time), after the load: the
operation with the layer and without it are called by turns for the same time, each call timed on
its own, so both see the same machine; the figures are the median call times and their ratio.

| layer | with | without | with, median µs | without, median µs | ratio |
| --- | --- | --- | --: | --: | --: |
${run.layers
  .map(
    (cost) =>
      `| ${cost.layer} | ${cost.with} | ${cost.without} | ${cost.withUs.toFixed(1)} | ${cost.withoutUs.toFixed(1)} | ${ratio(cost.withUs, cost.withoutUs)} |`,
  )
  .join("\n")}

## Cost against the data

The query of \`task.list\` (first page, 20 tasks, through the scoped client), in-process as above.

| case | median, µs | p99, µs | against the first row |
| --- | --: | --: | --: |
${[...run.growth, ...run.tableSize]
  .map((point, index, all) => {
    const base = index < run.growth.length ? all[0] : all[run.growth.length];
    return `| ${point.label} | ${point.medianUs.toFixed(0)} | ${point.p99Us.toFixed(0)} | ${ratio(point.medianUs, base?.medianUs ?? 0)} |`;
  })
  .join("\n")}

The last two rows compare tables of different sizes (the small one is its own database); "against
the first row" is then against the small table.

## Query plans

As the API runs them: as the app's role, with the user's setting, under the row-level security
policies (the policy's condition joins the index condition).

${Object.entries(run.explain)
  .map(
    ([name, plan]) => `\`${name}\`, \`EXPLAIN (ANALYZE, BUFFERS)\`:\n\n\`\`\`text\n${plan}\n\`\`\``,
  )
  .join("\n\n")}
`;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : "–");
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const count = (value: number) => value.toLocaleString("en");

/** The medians of the rounds' percentiles, and the largest of their maxima. */
export function deliveryLatency(
  rounds: DeliveryRound[],
  pick: (round: DeliveryRound) => Percentiles,
) {
  return {
    p50: median(rounds.map((round) => pick(round).p50)),
    p99: median(rounds.map((round) => pick(round).p99)),
    max: Math.max(...rounds.map((round) => pick(round).max)),
  };
}

/** The rounds' bytes per stream: their median and range. */
export function perStream(rounds: MemoryRound[], key: keyof MemorySample) {
  const each = rounds.map((round) => (round.after[key] - round.before[key]) / round.streams);
  return { median: median(each), min: Math.min(...each), max: Math.max(...each) };
}

export function liveSection(live: LiveRun): string {
  const sum = (
    key: "writes" | "written" | "expected" | "delivered" | "outOfOrder" | "beforeResponse",
  ) => live.delivery.reduce((total, round) => total + round[key], 0);
  const latencyRows = (
    [
      ["the commit, as a LISTEN connection of the bench heard it", (r) => r.fromCommit],
      ["the writer's answer (sent after the commit)", (r) => r.fromResponse],
      ["the writer's request sent", (r) => r.fromSent],
      ["_the create's own round trip, request to answer_", (r) => r.write],
    ] as [string, (round: DeliveryRound) => Percentiles][]
  ).map(([from, pick]) => {
    const { p50, p99, max } = deliveryLatency(live.delivery, pick);
    return `| ${from} | ${ms(p50)} | ${ms(p99)} | ${ms(max)} |`;
  });
  const perProcess = Math.round(live.streams / live.processes);
  const memoryRows = (
    [
      ["resident set (VmRSS)", "rssBytes"],
      ["V8 heap in use, after a full collection", "heapBytes"],
    ] as [string, keyof MemorySample][]
  ).map(([measure, key]) => {
    const each = perStream(live.memory, key);
    const before = median(live.memory.map((round) => round.before[key]));
    const after = median(live.memory.map((round) => round.after[key]));
    return `| ${measure} | ${mib(before)} | ${mib(after)} | ${kib(each.median)} | ${kib(each.min)}–${kib(each.max)} |`;
  });
  const delivered = sum("delivered");
  return `## Live updates

On two databases of their own, made afresh each run and seeded alike with ${count(live.seed.users)} users
and ${count(live.seed.tasks)} tasks: \`${live.database}\`, migrated as is, and \`${live.quietDatabase}\` for the write
path without emission. The API processes are the built server as above (the app's role, rate limits
on, a pool of 10), live updates at their defaults.

### Delivery latency

${count(live.streams)} streams (\`GET /api/tasks/events\`) stay open over ${live.processes} API processes on one database,
${count(perProcess)} on each: ${count(live.users)} users with ${live.streamsPerUser} streams each, spread evenly over the processes. Writers
create ${live.rate} tasks a second (\`task.create\`), the users in turn, each user's creates through each
process in turn, for ${live.seconds} s per round, ${live.rounds} rounds after an untimed one; each create's \`created\` event
goes to the writer's ${live.streamsPerUser} streams (${count(live.rate * live.streamsPerUser)} events a second in all). The bench times it all on
one clock (\`performance.now()\`): a writer sending its create and receiving the answer, a LISTEN
connection of its own hearing the commit's notification (PostgreSQL sends it once the
transaction commits), and the event's bytes arriving on each stream. A latency runs to each
stream's arrival, so there are ${live.streamsPerUser} per create; the figures are the medians of the rounds'
percentiles (max: over all rounds).

| from | p50 ms | p99 ms | max ms |
| --- | --: | --: | --: |
${latencyRows.join("\n")}

From the commit is the delivery latency proper. The answer leaves the server after the commit, so
from the answer is a lower bound (${count(sum("beforeResponse"))} of the ${count(delivered)} events arrived before their writer's answer, and count
as negative); from the request, an upper bound. Events: ${count(delivered)} of ${count(sum("expected"))} expected arrived,
${count(sum("outOfOrder"))} out of their stream's order; ${count(sum("written"))} of ${count(sum("writes"))} creates answered 200.

### Memory per idle stream

Per round (${live.memory.length}), a fresh API process, under \`--expose-gc\` with \`packages/bench/src/memory-probe.ts\`
loaded (over an IPC channel it runs a full collection, then reports \`process.memoryUsage()\`):
warmed with streams opened and closed, its memory read, then ${count(live.streams)} idle streams opened, a
hundred at a time (${live.streamsPerUser} per user), and its memory read again once each had its first event. The
resident set is \`VmRSS\` of \`/proc/<pid>/status\`, read right after the collection. Per stream:
(after − before) / ${count(live.streams)}, the median of the rounds; before and after are medians too. The heap in
use is what the streams hold (it grows in step with them and is given back when they close); the
resident set also counts the heap V8 grew to while they opened and keeps, so it is the larger and
the less steady of the two.

| measure | before, MiB | after, MiB | per stream, KiB | rounds' range, KiB |
| --- | --: | --: | --: | --: |
${memoryRows.join("\n")}

### Emitting events on the write path

The same build, one process on each database, no stream open. With emission: \`${live.database}\` as
migrated, where \`tasks_changed()\` numbers each change, logs it in \`task_changes\` and notifies, on
insert and on update (so an update now also updates its owner's \`users\` row). Without:
\`${live.quietDatabase}\`, where \`tasks_changed()\` is replaced (\`QUIET_TRIGGERS_SQL\` in
\`packages/bench/src/live.ts\`) by the same function minus the numbering, the log insert and the
notification: it still keeps \`task_count\` and checks the quota on insert and delete, and the update
trigger, left with nothing to do, is dropped, as before live updates. The two by turns, ${live.writeRounds} rounds of
${live.writeDuration} s per procedure, the first to go alternating, ${live.connections} connections over ${count(live.users)} users (\`task.update\`
flips one task of each); the ratio is with over without, round by round, then the median.

${comparisonTable(live.writePath, { title: "", a: ["with", "with emission"], b: ["without", "without emission"] })}

Where the cost is: an update now takes its owner's \`users\` row (lock and write, held to commit;
the numbering in commit order rests on it), and every write logs a row; above all, PostgreSQL
holds one lock for the whole server from a notifying transaction's pre-commit to its end, so the
commits of concurrent writers that NOTIFY go one at a time. That is the price of exactly-the-committed-writes
through the database alone; a broker, or a poll of the log, would trade it for other costs.

`;
}

/** Two bar charts side by side: requests/s and p99 latency per procedure, API against baseline. */
export function svg(summary: Summary[]): string {
  const rowHeight = 34;
  const top = 50;
  const labelWidth = 230;
  const chartWidth = 300;
  const gap = 40;
  const height = top + summary.length * rowHeight + 40;
  const width = labelWidth + 2 * chartWidth + gap + 60;
  const maxRps = Math.max(1, ...summary.flatMap((s) => [s.api.rps, s.baseline.rps]));
  const maxP99 = Math.max(1, ...summary.flatMap((s) => [s.api.p99, s.baseline.p99]));
  const colors = { api: "#3b6fd4", baseline: "#9aa3ad" };
  const parts: string[] = [];
  const text = (x: number, y: number, value: string, extra = "", size = 12) =>
    `<text x="${x.toFixed(1)}" y="${y}" font-family="sans-serif" font-size="${size}"${extra ? ` ${extra}` : ""}>${value}</text>`;
  parts.push(text(labelWidth, 20, "requests/s (higher is better)", `font-weight="bold"`));
  parts.push(
    text(
      labelWidth + chartWidth + gap,
      20,
      "p99 latency, ms (lower is better)",
      `font-weight="bold"`,
    ),
  );
  parts.push(`<rect x="${labelWidth}" y="28" width="10" height="10" fill="${colors.api}"/>`);
  parts.push(text(labelWidth + 14, 37, "API"));
  parts.push(
    `<rect x="${labelWidth + 50}" y="28" width="10" height="10" fill="${colors.baseline}"/>`,
  );
  parts.push(text(labelWidth + 64, 37, "baseline (node:http + pg)"));
  summary.forEach((s, index) => {
    const y = top + index * rowHeight;
    parts.push(text(4, y + 18, s.procedure.replaceAll("&", "&amp;")));
    const bars = [
      { x: labelWidth, max: maxRps, api: s.api.rps, baseline: s.baseline.rps, digits: 0 },
      {
        x: labelWidth + chartWidth + gap,
        max: maxP99,
        api: s.api.p99,
        baseline: s.baseline.p99,
        digits: 0,
      },
    ];
    for (const bar of bars) {
      for (const [offset, server] of [
        [0, "api"],
        [14, "baseline"],
      ] as const) {
        const value = bar[server];
        const w = Math.max(1, (value / bar.max) * chartWidth);
        parts.push(
          `<rect x="${bar.x}" y="${y + offset}" width="${w.toFixed(1)}" height="12" fill="${colors[server]}"/>`,
        );
        parts.push(text(bar.x + w + 4, y + offset + 10, value.toFixed(bar.digits), "", 10));
      }
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
${parts.join("\n")}
</svg>
`;
}

export async function writeReport(root: string, run: Run): Promise<void> {
  const summary = summarize(run.measurements);
  await writeFile(join(root, "BENCHMARKS.md"), markdown(run, summary));
  await writeFile(join(root, "benchmarks.svg"), svg(summary));
}
