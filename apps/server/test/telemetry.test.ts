/**
 * Traces of the API in-process, into an in-memory exporter: one request is one trace, from the
 * HTTP server span through the procedure to Prisma's operations and statements, and its log
 * lines name it.
 */
import { Writable } from "node:stream";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { type DataPoint, type Histogram, MetricReader } from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace";
import { startTelemetry } from "@tasks/telemetry";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/** Metrics on demand: `collect()` reads what the instruments hold now. */
class TestReader extends MetricReader {
  protected override async onShutdown() {}
  protected override async onForceFlush() {}
}

// Started before the server's modules load (they are imported below), as the server starts it.
const exporter = new InMemorySpanExporter();
const reader = new TestReader();
const telemetry = startTelemetry({
  serviceName: "tasks-api-test",
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
  metricReaders: [reader],
});
const { createLogger } = await import("../src/logger.ts");
const { awayFromWindowEdge, SECRET, signToken, startTestApi } = await import("./support.ts");

const QUOTA = 5;
const PER_MINUTE = 40;

const logLines: Record<string, unknown>[] = [];
const logSink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
    done();
  },
});

let api: Awaited<ReturnType<typeof startTestApi>>;
let token: string;
beforeAll(async () => {
  api = await startTestApi(
    { mode: "secret", secret: SECRET },
    {
      logger: createLogger("info", logSink),
      live: false,
      // Low enough for the refusal counters' tests to reach, far above what the others do.
      databaseDefaults: { "app.task_quota": String(QUOTA) },
      rateLimits: { userPerMinute: PER_MINUTE, anonymousPerMinute: 1_000_000 },
    },
  );
  token = await signToken({ sub: "traced", email: "traced@example.com" });
});
afterAll(async () => {
  await api?.stop();
  await telemetry?.shutdown();
});

type CallInit = Omit<RequestInit, "headers"> & {
  input?: unknown;
  headers?: Record<string, string>;
};

/** Calls one procedure over HTTP (no batch). */
async function call(path: string, init: CallInit = {}) {
  const { input, headers, ...request } = init;
  const url =
    request.method === "POST"
      ? `${api.url}/trpc/${path}`
      : `${api.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const response = await fetch(url, {
    ...request,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: request.method === "POST" ? JSON.stringify({ json: input }) : undefined,
  });
  const requestId = response.headers.get("x-request-id");
  await response.arrayBuffer();
  return { response, requestId };
}

/** Calls one procedure over HTTP (no batch) and returns the response and its trace's spans. */
async function traced(path: string, init: CallInit = {}) {
  const { response, requestId } = await call(path, init);
  // The server span ends once the response is closed, just after the client has it.
  const server = await vi.waitFor(() => {
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && s.name.endsWith(`/trpc/${path}`) && !seen.has(s));
    if (!span)
      throw new Error(
        `no server span for ${path} yet: ${exporter
          .getFinishedSpans()
          .map((s) => `${s.kind}:${s.name}`)
          .join(", ")}`,
      );
    seen.add(span);
    return span;
  });
  const { traceId } = server.spanContext();
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  return { response, requestId, server, spans };
}
const seen = new Set<ReadableSpan>();

const parentOf = (span: ReadableSpan, spans: ReadableSpan[]) =>
  spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);

/** The names from `span` up to the trace's root. */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const names: string[] = [];
  for (let at: ReadableSpan | undefined = span; at; at = parentOf(at, spans)) names.push(at.name);
  return names;
}

describe("traces", () => {
  it("make one request one trace: HTTP, then the procedure, then Prisma's operation and statement", async () => {
    const title = "Renew the passport before March";
    const { response, server, spans } = await traced("task.create", {
      method: "POST",
      input: { title },
    });
    expect(response.status).toBe(200);

    expect(server.name).toBe("POST /trpc/task.create");
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.attributes["http.route"]).toBe("/trpc/task.create");
    expect(server.attributes["http.response.status_code"]).toBe(200);

    const procedure = spans.find((s) => s.name === "task.create");
    expect(procedure?.attributes).toMatchObject({
      "rpc.system": "trpc",
      "rpc.method": "task.create",
      "trpc.type": "mutation",
      "rpc.response.status_code": "OK",
    });
    expect(parentOf(procedure as ReadableSpan, spans)).toBe(server);

    // The task's INSERT, Prisma's span of the statement with its SQL, under Prisma's operation,
    // under the procedure.
    const insert = spans.find(
      (s) =>
        s.name === "prisma:client:db_query" &&
        String(s.attributes["db.query.text"]).startsWith("INSERT INTO") &&
        ancestry(s, spans).includes("task.create"),
    );
    expect(insert, spans.map((s) => s.name).join(", ")).toBeDefined();
    const chain = ancestry(insert as ReadableSpan, spans);
    expect(chain[1]).toBe("prisma:client:operation");
    expect(insert?.attributes["db.system.name"]).toBe("postgresql");
    // Prisma's serialising and compiling of the query get no span of their own.
    expect(spans.map((s) => s.name)).not.toContain("prisma:client:serialize");
    expect(spans.map((s) => s.name)).not.toContain("prisma:client:compile");
    expect(chain.slice(-2)).toEqual(["task.create", "POST /trpc/task.create"]);

    // Every span is in the one trace, and none carries the task's contents or the token.
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(server.spanContext().traceId);
      const attributes = JSON.stringify(span.attributes);
      expect(attributes).not.toContain(title);
      expect(attributes).not.toContain(token);
    }
  });

  it("keep query strings out: tRPC's input and the search are redacted", async () => {
    const { response, server } = await traced("task.list", { input: { search: "passport" } });
    expect(response.status).toBe(200);
    expect(JSON.stringify(server.attributes)).not.toContain("passport");
    expect(server.attributes["url.path"]).toBe("/trpc/task.list");
  });

  it("record a failing procedure's error code, and no message", async () => {
    const { response, server, spans } = await traced("task.byId", {
      input: { id: "00000000-0000-4000-8000-000000000000" },
    });
    expect(response.status).toBe(404);
    const procedure = spans.find((s) => s.name === "task.byId");
    expect(procedure?.attributes).toMatchObject({
      "rpc.response.status_code": "NOT_FOUND",
      "error.type": "NOT_FOUND",
    });
    // The caller's mistake, not the server's: the span is not marked failed.
    expect(procedure?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(procedure?.events).toEqual([]);
    expect(server.attributes["http.response.status_code"]).toBe(404);
  });

  it("name REST calls by their route template, never the raw URL", async () => {
    const response = await fetch(`${api.url}/api/tasks/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(404);
    const server = await vi.waitFor(() => {
      const span = exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.kind === SpanKind.SERVER &&
            s.attributes["url.path"]?.toString().startsWith("/api/tasks/"),
        );
      if (!span) throw new Error("no REST span yet");
      return span;
    });
    expect(server.name).toBe("GET /api/tasks/{id}");
    expect(server.attributes["http.route"]).toBe("/api/tasks/{id}");
  });
});

/** The data points of one metric whose attributes include `match`. */
async function points(name: string, match: Record<string, unknown>) {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === name);
  return ((metric?.dataPoints ?? []) as DataPoint<Histogram>[]).filter((point) =>
    Object.entries(match).every(([key, value]) => point.attributes[key] === value),
  );
}

describe("sampling", () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

  it("continues the caller's trace (W3C traceparent)", async () => {
    const { server } = await traced("task.list", {
      input: {},
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
  });

  it("makes no span for a request the sampler does not record, and still counts it", async () => {
    const unsampled = "5bf92f3577b34da6a3ce929d0e0e4737";
    const before =
      (await points("rpc.server.call.duration", { "rpc.method": "task.stats" }))[0]?.value.count ??
      0;
    const statementsBefore = await statements("SELECT");
    const { response } = await call("task.stats", {
      headers: { traceparent: `00-${unsampled}-00f067aa0ba902b7-00` },
    });
    expect(response.status).toBe(200);
    // The server span ends on close: by then a sampled request's spans would all be here.
    await vi.waitFor(async () => {
      const [point] = await points("http.server.request.duration", {
        "http.route": "/trpc/task.stats",
        "http.response.status_code": 200,
      });
      expect(point?.value.count).toBeGreaterThan(0);
    });
    const spans = exporter.getFinishedSpans();
    expect(spans.filter((s) => s.spanContext().traceId === unsampled)).toEqual([]);
    expect(spans.some((s) => s.name === "task.stats")).toBe(false);
    const [after] = await points("rpc.server.call.duration", { "rpc.method": "task.stats" });
    expect(after?.value.count).toBe(before + 1);
    // Its statements are timed all the same, without a span of node-postgres's.
    expect(await statements("SELECT")).toBeGreaterThan(statementsBefore);
  });
});

/** How many statements of one kind `db.client.operation.duration` has timed. */
async function statements(operation: string) {
  const found = await points("db.client.operation.duration", {
    "db.operation.name": operation,
    "db.system.name": "postgresql",
  });
  return found.reduce((total, point) => total + point.value.count, 0);
}

describe("database metrics", () => {
  it("time each statement by its operation, and report the pool's connections", async () => {
    const before = await statements("SELECT");
    await traced("task.list", { input: {} });
    expect(await statements("SELECT")).toBeGreaterThan(before);
    const [{ value: used }, { value: idle }] = await Promise.all([
      gauge("db.client.connection.count", { "db.client.connection.state": "used" }),
      gauge("db.client.connection.count", { "db.client.connection.state": "idle" }),
    ]);
    const { value: max, attributes } = await gauge("db.client.connection.max");
    expect(used + idle).toBeGreaterThan(0);
    expect(used + idle).toBeLessThanOrEqual(max);
    expect((await gauge("db.client.connection.pending_requests")).value).toBe(0);
    // The pool's name is where it connects: a host, a port and a database, no user or password.
    expect(attributes["db.client.connection.pool.name"]).toMatch(/^[\w.-]+:\d+\/[\w-]+$/);
  });
});

/** The one data point of a gauge (an observable up-down counter) whose attributes include `match`. */
async function gauge(name: string, match: Record<string, unknown> = {}) {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === name);
  const found = ((metric?.dataPoints ?? []) as DataPoint<number>[]).filter((point) =>
    Object.entries(match).every(([key, value]) => point.attributes[key] === value),
  );
  expect(found).toHaveLength(1);
  return found[0] as DataPoint<number>;
}

/** A counter's total over the data points whose attributes include `match`. */
async function counted(name: string, match: Record<string, unknown> = {}) {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === name);
  return ((metric?.dataPoints ?? []) as DataPoint<number>[])
    .filter((point) =>
      Object.entries(match).every(([key, value]) => point.attributes[key] === value),
    )
    .reduce((total, point) => total + point.value, 0);
}

describe("refusal counters", () => {
  const trpc = (user: string, path: string, init: RequestInit = {}) =>
    signToken({ sub: user, email: `${user}@example.com` }).then((userToken) =>
      fetch(`${api.url}/trpc/${path}`, {
        ...init,
        headers: { authorization: `Bearer ${userToken}`, "content-type": "application/json" },
      }),
    );

  it("count the tasks refused by the quota", async () => {
    const before = await counted("tasks.quota.refusals");
    const statuses: number[] = [];
    for (let i = 0; i <= QUOTA; i++) {
      const body = JSON.stringify({ json: { title: `task ${i}` } });
      statuses.push((await trpc("hoarder", "task.create", { method: "POST", body })).status);
    }
    expect(statuses.filter((status) => status === 403)).toHaveLength(1);
    expect(await counted("tasks.quota.refusals")).toBe(before + 1);
  });

  it("count the requests refused by the rate limits, by policy", async () => {
    const before = await counted("tasks.rate_limit.refusals", {
      "tasks.rate_limit.policy": "user",
    });
    const statuses: number[] = [];
    await awayFromWindowEdge(10_000);
    for (let i = 0; i <= PER_MINUTE; i++) statuses.push((await trpc("hasty", "task.stats")).status);
    const refused = statuses.filter((status) => status === 429).length;
    expect(refused).toBeGreaterThan(0);
    expect(await counted("tasks.rate_limit.refusals", { "tasks.rate_limit.policy": "user" })).toBe(
      before + refused,
    );
  });
});

describe("logs", () => {
  it("carry the trace and span ids of the request they were written for", async () => {
    const { requestId, server } = await traced("task.list", { input: {} });
    const line = await vi.waitFor(() => {
      const found = logLines.find((entry) => entry.requestId === requestId);
      if (!found) throw new Error("no log line yet");
      return found;
    });
    expect(line.trace_id).toBe(server.spanContext().traceId);
    expect(line.span_id).toBe(server.spanContext().spanId);
    expect(line.trace_flags).toBe("01");
  });
});
