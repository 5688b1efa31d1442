// The report's arithmetic and chart, without a database.
import { expect, it } from "vitest";
import { type Measurement, median, summarize, svg } from "../src/report.ts";

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
