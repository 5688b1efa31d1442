// The report's arithmetic and chart, without a database.
import { expect, it } from "vitest";
import type { DeliveryRound } from "../src/live.ts";
import {
  comparisonTable,
  deliveryLatency,
  estimate,
  type Measurement,
  median,
  perStream,
  type Run,
  summarize,
  svg,
  targets,
} from "../src/report.ts";

const measurement = (server: Measurement["server"], round: number, rps: number): Measurement => ({
  procedure: "task.byId",
  server,
  round,
  rps,
  p50: rps / 100,
  p99: rps / 10,
  errors: round,
});

it("takes the median of the rounds, and sums the errors", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  const [summary] = summarize([
    measurement("api", 0, 100),
    measurement("api", 1, 300),
    measurement("api", 2, 200),
    measurement("baseline", 0, 400),
    measurement("baseline", 1, 500),
    measurement("baseline", 2, 600),
  ]);
  expect(summary).toEqual({
    procedure: "task.byId",
    api: { rps: 200, p50: 2, p99: 20, errors: 3 },
    baseline: { rps: 500, p50: 5, p99: 50, errors: 3 },
  });
});

it("draws a chart whose every tag has each attribute once", () => {
  const chart = svg(summarize([measurement("api", 0, 100), measurement("baseline", 0, 200)]));
  expect(chart.startsWith("<svg")).toBe(true);
  for (const tag of chart.match(/<[a-z]+ [^>]*>/g) ?? []) {
    const names = [...tag.matchAll(/ ([a-z-]+)="/g)].map((match) => match[1]);
    expect(new Set(names).size, tag).toBe(names.length);
  }
});

it("checks each target against the run, and says which were not measured", () => {
  const row = (procedure: string, api: number, baseline: number, p99: number) => [
    { procedure, server: "api" as const, round: 0, rps: api, p50: 1, p99, errors: 0 },
    { procedure, server: "baseline" as const, round: 0, rps: baseline, p50: 1, p99: 1, errors: 0 },
  ];
  const measurements = [
    ...row("task.list (first page)", 610, 1000, 30),
    ...row("task.create", 490, 1000, 10),
  ];
  const point = (medianUs: number) => ({ label: "", medianUs, p99Us: medianUs });
  const run = {
    connections: 32,
    layers: [
      { layer: "scoped client (forUser)", with: "", without: "", withUs: 104, withoutUs: 100 },
    ],
    tableSize: [point(100), point(160)],
    comparisons: [
      { title: "rls", a: ["api", "on"], b: ["api, rls off", "off"] },
      { title: "traced", a: ["api, traced 10%", "traced"], b: ["api", "off"] },
    ],
    // Row-level security on against off: two rounds of task.list (ratios 0.8 and 1.0), and no
    // pair for task.create. Traced against off, a phase of its own: task.list 0.90 (paired with
    // the rls phase's `api` of the same round, it would be 1.125) and task.create 0.96, each on a
    // pair of processes of its own: their geometric mean, 0.930, and its interval.
    paired: [
      { procedure: "task.list (first page)", server: "api", round: 0, rps: 80, comparison: "rls" },
      {
        procedure: "task.list (first page)",
        server: "api, rls off",
        round: 0,
        rps: 100,
        comparison: "rls",
      },
      { procedure: "task.list (first page)", server: "api", round: 1, rps: 100, comparison: "rls" },
      {
        procedure: "task.list (first page)",
        server: "api, rls off",
        round: 1,
        rps: 100,
        comparison: "rls",
      },
      {
        procedure: "task.list (first page)",
        server: "api, traced 10%",
        round: 0,
        rps: 90,
        comparison: "traced",
      },
      {
        procedure: "task.list (first page)",
        server: "api",
        round: 0,
        rps: 100,
        comparison: "traced",
      },
      {
        procedure: "task.create",
        server: "api, traced 10%",
        round: 0,
        rps: 96,
        comparison: "traced",
      },
      { procedure: "task.create", server: "api", round: 0, rps: 100, comparison: "traced" },
    ],
  } as unknown as Run;
  expect(targets(run, summarize(measurements))).toEqual([
    ["`task.list` throughput ≥ 0.60× the baseline's", "0.61×", true],
    ["`task.create` throughput ≥ 0.50× the baseline's", "0.49×", false],
    ["`task.list` p99 under 25 ms at 32 connections", "30 ms", false],
    ["scoped client overhead ≤ 5%", "4.0%", true],
    ["`task.list` throughput with row-level security on ≥ 0.85× of off", "0.90×", true],
    ["`task.create` throughput with row-level security on ≥ 0.85× of off", "not measured", false],
    [
      "API throughput traced at 10% (metrics off) ≥ 0.95× of telemetry off (all procedures)",
      "0.930× (95%: 0.617–1.401)",
      false,
    ],
    ["list latency at the large table within 1.5× of the small one", "1.60×", false],
  ]);
  expect(targets({ ...run, layers: [], tableSize: [], paired: [] }, [])[0]).toEqual([
    "`task.list` throughput ≥ 0.60× the baseline's",
    "not measured",
    false,
  ]);
});

it("compares two servers by the ratios of each round's pair, procedure by procedure", () => {
  const table = comparisonTable(
    [
      measurement("api", 0, 300),
      measurement("api", 1, 100),
      measurement("api", 2, 200),
      measurement("api, other node", 0, 150),
      measurement("api, other node", 1, 25),
      measurement("api, other node", 2, 200),
      { ...measurement("api", 0, 90), procedure: "task.stats" },
      { ...measurement("api, other node", 0, 100), procedure: "task.stats" },
      { ...measurement("api", 1, 95), procedure: "task.stats" },
      { ...measurement("api, other node", 1, 100), procedure: "task.stats" },
    ],
    { title: "", a: ["api", "API, Node 24"], b: ["api, other node", "API, Node 20"] },
  );
  // Round by round the ratios are 2, 4 and 1: their median is 2, where the ratio of the two
  // medians (200 and 150) would say 1.33. All five rounds together: 0.9, 0.95, 1, 2 and 4.
  expect(table.split("\n")).toEqual([
    "| procedure | API, Node 24 req/s | API, Node 20 req/s | ratio, median of rounds | ratios' range | p99 ms | errors |",
    "| --- | --: | --: | --: | --: | --: | --: |",
    "| `task.byId` | 200 | 150 | 2.00× | 1.00–4.00 | 20 / 15 | 3 / 3 |",
    "| `task.stats` | 93 | 100 | 0.93× | 0.90–0.95 | 9.25 / 10 | 1 / 1 |",
    "| all procedures' rounds (5) | | | 1.000× | 0.90–4.00 | | |",
  ]);
});

it("over all procedures, takes one ratio per pair of processes and an interval over the pairs", () => {
  // Two procedures, each on two pairs of processes of two rounds. The pairs' ratios are 0.90,
  // 1.00, 0.95 and 1.05; a round pairs only with the round of its own pair of processes.
  const rounds = (procedure: string, pair: number, ratio: number): Measurement[] =>
    [0, 1].flatMap((round) => [
      { ...measurement("api, traced 10%", round, 100 * ratio), procedure, pair },
      { ...measurement("api", round, 100 + 10 * pair), procedure, pair },
    ]);
  const measurements = [
    ...rounds("task.byId", 0, 0.9),
    ...rounds("task.byId", 1, 1.1),
    ...rounds("task.stats", 0, 0.95),
    ...rounds("task.stats", 1, 1.155),
  ];
  const result = estimate(measurements, "api, traced 10%", "api");
  // ln: −0.10536, 0, −0.05129, 0.04879; mean −0.02697; s 0.06634; t(3) 3.182.
  expect(result?.pairs).toBe(4);
  expect(result?.ratio).toBeCloseTo(0.97339, 4);
  expect(result?.low).toBeCloseTo(0.87589, 3);
  expect(result?.high).toBeCloseTo(1.08176, 3);
  const table = comparisonTable(measurements, {
    title: "",
    a: ["api, traced 10%", "traced"],
    b: ["api", "off"],
  });
  expect(table.split("\n").at(-1)).toBe(
    "| all procedures: 4 pairs of processes, 8 rounds | | | 0.973× (95%: 0.876–1.082) | 0.90–1.05 | | |",
  );
});

it("sums up live updates: medians of the rounds' percentiles, and bytes per stream", () => {
  const round = (p50: number, p99: number, max: number) =>
    ({ fromCommit: { p50, p99, max } }) as unknown as DeliveryRound;
  expect(
    deliveryLatency([round(1, 10, 20), round(3, 30, 90), round(2, 20, 40)], (r) => r.fromCommit),
  ).toEqual({ p50: 2, p99: 20, max: 90 });
  const memory = (round: number, grown: number) => ({
    round,
    streams: 1000,
    before: { rssBytes: 100_000_000, heapBytes: 30_000_000 },
    after: { rssBytes: 100_000_000 + grown * 3, heapBytes: 30_000_000 + grown },
  });
  const rounds = [memory(0, 25_000_000), memory(1, 24_000_000), memory(2, 26_000_000)];
  expect(perStream(rounds, "heapBytes")).toEqual({ median: 25_000, min: 24_000, max: 26_000 });
  expect(perStream(rounds, "rssBytes").median).toBe(75_000);
});
